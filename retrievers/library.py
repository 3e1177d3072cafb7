"""Library-level retrieval: questions about the collection, answered with every video that matches.

"Which clips have music?", "Which of the clips are weather forecasts, and which places do they
mention?", "Summarize the two talk-show clips": the router marks these ``library``
(:func:`vrag.retrievers.router.library_reason`), and this module answers them from the per-video
profile records (:mod:`vrag.indexers.profile`; built on the fly for videos indexed before it):

1. the question is read into a :class:`LibraryQuery`: a sound (music, singing, speech, silence;
   answered from the audio events), genres (the words of :data:`vrag.indexers.profile.GENRES`),
   an entity type it asks for (places, people, organisations), a language, a number of videos
   ("the two ..."), whether it wants summaries, and its remaining content words;
2. every video that passes the sound/genre/language conditions is selected -- all of them, not
   the top k -- and the content words narrow and rank them: cosine of
   the question to the profile plus the share of the words the video's text contains; a video is
   kept when its text has at least half of them (:data:`TOPIC_WORDS`; when no video has any: when
   its profile is very close to them, :data:`TOPIC_SIMILARITY`);
3. each selected video gets its evidence: the audio event, the records naming its entities, an
   overview spread over it (summaries), or its best hybrid hit for the content words.

The hits come back grouped per video in the normal :class:`~vrag.schema.Hit` form, and
:func:`compose_answer` turns the selection into an :class:`~vrag.schema.Answer` listing every video.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from vrag.config import Config
from vrag.filters import Filter
from vrag.schema import Answer, Hit, Segment
from vrag.store import Store
from vrag.timecode import mmss

from .pieces import profile_lead
from .query_terms import terms

__all__ = ["LibraryRetriever", "LibraryQuery", "Match", "Selection", "parse_question", "compose_answer",
           "MUSIC_MIN_SECONDS", "MUSIC_MIN_SHARE", "GENRE_MIN", "GENRE_MARGIN", "TOPIC_WORDS", "TOPIC_SIMILARITY",
           "TOPIC_MARGIN", "PASSAGE_SIMILARITY", "PASSAGE_MARGIN"]

#: A video "has" music/singing/speech when the audio events find at least this many seconds of it ...
MUSIC_MIN_SECONDS = 3.0
#: ... making up at least this share of the video (a 1.6 s jingle in a speech is not "music in it").
MUSIC_MIN_SHARE = 0.10
#: A video is of a genre when its profile scores it at least this ...
GENRE_MIN = 0.2
#: ... and within this of the video's best genre (a weather forecast that also looks like news).
GENRE_MARGIN = 0.05
#: Topic questions: a video is about the question's content words when its speech, screen text,
#: captions or profile contain at least this share of them ...
TOPIC_WORDS = 0.5
#: ... or, when no video contains any of them, its profile is this close (MiniLM cosine: single
#: words of one field, "football" and a hockey clip, reach ~0.5) ...
TOPIC_SIMILARITY = 0.55
#: ... and within this of the closest video.
TOPIC_MARGIN = 0.1
#: ... else a video one passage of which (speech, screen text, caption) is this close to the whole
#: question (MiniLM cosine; "which clips show a band performing live on stage": the concert clip's
#: caption 0.47, others <= 0.33; a question about football reaches 0.39 on the hockey clip) ...
PASSAGE_SIMILARITY = 0.42
#: ... and within this of the closest video's passage.
PASSAGE_MARGIN = 0.08
#: Evidence hits per selected video (summaries: the overview's parts).
EVIDENCE = 1
OVERVIEW = 3
NOT_FOUND = "Not found in the indexed videos."

_AUDIO = {
    "music": r"\bmusic(?:al)?\b|\binstrumentals?\b|\bsoundtracks?\b",
    "singing": r"\bsing(?:s|ing|er|ers)?\b|\bsung\b|\bvocals?\b",
    "speech": r"\bspeech\b|\bspoken(?: words?)?\b|\bspeak(?:s|ing|er|ers)?\b|\btalking\b|\bnarrat\w*|\bvoices?\b|\bdialogue\b",
    "silent": r"\bsilen\w*|\bno (?:sound|audio)\b|\bwithout (?:sound|audio)\b|\bquiet\b|\bmute\w*",
}
_NEGATION = r"\b(?:no|without|lacks?|lacking|not|never|free of|rather than|instead of|other than)\b(?:\s+\w+){0,2}?\s+"
#: Files without a picture: "which audio-only recordings ...".
_NO_PICTURE = r"\baudio[- ]only\b|\bsound[- ]only\b|\bwithout (?:a |any )?(?:picture|video|images?)\b|\bno (?:picture|video|images?)\b"
_FACETS = {
    "GPE": r"\b(?:places?|cit(?:y|ies)|towns?|countr(?:y|ies)|locations?|regions?|provinces?|states?|where)\b",
    "PERSON": r"\b(?:people|persons?|who|names?|hosts?|speakers?|presenters?|anchors?)\b",
    "ORG": r"\b(?:compan(?:y|ies)|organi[sz]ations?|brands?|teams?|networks?|channels?|institutions?)\b",
}
_LANGUAGES = {"english": "en", "french": "fr", "spanish": "es", "german": "de", "italian": "it",
              "portuguese": "pt", "dutch": "nl", "chinese": "zh", "japanese": "ja", "russian": "ru"}
#: A genre word counts only as the category of the videos: last word of its phrase ("are weather
#: forecasts", "talk-show clips", "about hockey?"), not a modifier ("a golf cart").
_AS_CATEGORY = (r"(?=\s*(?:$|[,.;:!?)]|(?:videos?|clips?|recordings?|files?|ones|episodes?|tracks?|broadcasts?|"
                r"programm?e?s?|segments?|footage|coverage|and|or|that|which|"
                r"where|for|with|from|in|on|about|mention\w*|show\w*|talk\w*|have|has|are|is)\b))")
_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_COUNT = re.compile(r"\b(?:the|these|those|my|all)\s+(two|three|four|five|six|seven|eight|nine|ten|\d{1,2})\b")
_SUMMARY = re.compile(r"\b(?:summar\w*|sum up|recap|overview|compare|contrast|gist)\b|\bwhat\s+(?:are|were)\b.*\babout\b")
#: Words of library questions that say nothing about which videos match.
_LIBRARY_WORDS = frozenset("""
which recordings recording files file collection library archive list many any ones contain contains containing
have has there all every each indexed name count show give find summarize summarise summary summaries overview
compare contrast recap gist both two three four five six seven eight nine ten episodes episode media tracks
movies movie films film songs song in them feature features featuring broadcast broadcasts program programs
programme programmes segment segments footage coverage track stream streams
""".split())


@dataclass
class LibraryQuery:
    """What a library question asks for (see the module docstring)."""

    text: str
    audio: str = ""
    negated: bool = False
    genres: list[str] = field(default_factory=list)
    facet: str = ""
    language: str = ""
    count: int = 0
    summary: bool = False
    words: list[str] = field(default_factory=list)
    #: sounds the videos must not have besides ``audio`` ("spoken word rather than music": music)
    audio_not: list[str] = field(default_factory=list)
    #: False: only files without a picture ("audio-only recordings"); None: any file
    picture: bool | None = None


@dataclass
class Match:
    """One selected video: why it matched, its score, the facts asked for and its evidence."""

    video_id: str
    path: str
    score: float
    reason: str
    profile: Segment
    facts: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    #: the content words' score (cosine to the profile + half the share of words found)
    topic: float = 0.0


@dataclass
class Selection:
    """Every video a library question selected, best first, out of ``total`` in the library."""

    query: LibraryQuery
    matches: list[Match]
    total: int


def parse_question(question: str) -> LibraryQuery:
    """Read a library question into its conditions (sound, genres, entity type, language, count...)."""
    from vrag.indexers.profile import GENRES

    text = " ".join(question.lower().replace("\u2019", "'").split())
    q = LibraryQuery(question)
    sounds = [(label, bool(re.search(_NEGATION + r"(?:" + pattern + r")", text))) for label, pattern in _AUDIO.items()
              if re.search(pattern, text)
              and not (label == "speech" and re.search(r"\btalk[- ]?shows?\b", text) and "speech" not in text)]
    if sounds:  # the sound asked for (the first not negated), and those the videos must lack
        q.audio, q.negated = next(((label, False) for label, negated in sounds if not negated), sounds[0])
        q.audio_not = [label for label, negated in sounds if negated and label != q.audio]
    if re.search(_NO_PICTURE, text):
        q.picture = False
    rest = text
    for g in GENRES:
        if re.search(r"(?<!\bin )\b(?:" + g.cue + r")" + _AS_CATEGORY, text):
            q.genres.append(g.name)
            rest = re.sub(r"\b(?:" + g.cue + r")\b", " ", rest)
    if q.audio == "singing" and "song" in q.genres:
        q.genres.remove("song")  # "which songs have singing": the sound decides
    if q.audio == "speech" and "speech" in q.genres and not re.search(
            r"\b(?:an?|the) (?:public |political |inaugural )?speech\b|speeches|address|oration|inaugural", text):
        q.genres.remove("speech")  # "which recordings have no speech": the sound, not a kind of recording
    q.facet = next((name for name, pattern in _FACETS.items() if re.search(pattern, text)), "")
    q.language = next((code for name, code in _LANGUAGES.items() if re.search(rf"\b(?:in|spoken in) {name}\b", text)), "")
    count = _COUNT.search(text)
    if count:
        q.count = int(count.group(1)) if count.group(1).isdigit() else _NUMBERS[count.group(1)]
    q.summary = bool(_SUMMARY.search(text))
    for pattern in ([_AUDIO[q.audio]] if q.audio else []) + [_AUDIO[a] for a in q.audio_not] + (
            [_FACETS[q.facet]] if q.facet else []) + ([_NO_PICTURE] if q.picture is False else []):
        rest = re.sub(pattern, " ", rest)
    q.words = [w for w in terms(rest) if w not in _LIBRARY_WORDS and w not in _LANGUAGES]
    return q


def _has_audio(profile: Segment, label: str) -> tuple[bool, float]:
    audio = profile.meta.get("audio", {})
    duration = max(float(profile.meta.get("duration") or profile.end), 1e-6)
    if label == "silent":
        sound = sum(float(audio.get(k, 0.0)) for k in ("speech", "singing", "music"))
        return sound < MUSIC_MIN_SECONDS, sound
    seconds = float(audio.get(label, 0.0))
    return seconds >= MUSIC_MIN_SECONDS and seconds >= MUSIC_MIN_SHARE * duration, seconds


def _genre_score(profile: Segment, genre: str) -> tuple[bool, float]:
    scores = {str(name): float(score) for name, score in profile.meta.get("genres", [])}
    if genre not in scores:
        return False, 0.0
    best = max(scores.values())
    return scores[genre] >= GENRE_MIN and scores[genre] >= best - GENRE_MARGIN, scores[genre]


def _forms(word: str) -> set[str]:
    """A word's stem, plus the stem with an "e" for -ing/-ed forms ("baking" -> bak, bake)."""
    word = word.strip("'-")
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            return {stem, stem + "e"} if suffix in ("ing", "ed") else {stem}
    return {word}


def _matched(words: list[str], text: str) -> list[str]:
    """The ``words`` that ``text`` contains, in any of their forms ("bake" and "baking", "volcano" and
    "volcanoes" match; looser than :func:`~vrag.retrievers.query_terms.matched`)."""
    found = set().union(*(_forms(w) for w in re.findall(r"[^\W_][\w'-]*", text.lower())))
    return [w for w in words if _forms(w) & found]


def display_name(path: str) -> str:
    """How a video is named in answers: its file name, never an absolute path."""
    return os.path.basename(path.rstrip("/\\")) or path


class LibraryRetriever:
    """Select every video of the library that a collection-level question asks for, with evidence."""

    def __init__(self, store: Store, cfg: Config, embedder: Any):
        self.store = store
        self.cfg = cfg
        self.embedder = embedder

    def retrieve(self, query: str, filters: dict[str, Any] | None = None) -> tuple[list[Hit], Selection]:
        """The evidence hits of every selected video, grouped per video (best video first), and the
        :class:`Selection` (which videos, why)."""
        selection = self.select(query, filters)
        for match in selection.matches:
            match.hits = self._evidence(selection.query, match, filters)
        return [hit for match in selection.matches for hit in match.hits], selection

    # -- selecting videos --------------------------------------------------------------
    def profiles(self, filters: dict[str, Any] | None = None) -> list[Segment]:
        """Every video's profile record (built now, from its stored records, where none is stored)."""
        ids = (filters or {}).get("video_id")
        ids = [ids] if isinstance(ids, str) else ids
        stored = {s.video_id: s for s in self.store.segments.read(Filter.of(ids or None, "profile"))}
        rows = [r for r in self.store.videos.all() if not ids or r["video_id"] in ids]
        missing = [r for r in rows if r["video_id"] not in stored]
        if missing:
            stored.update(self._build(missing))
        return [stored[r["video_id"]] for r in rows if r["video_id"] in stored]

    def _build(self, rows: list[dict[str, Any]]) -> dict[str, Segment]:
        """Profiles of videos indexed before the profile stage existed (``vrag index`` stores them)."""
        from vrag.indexers.profile import build_profile, entity_extractor

        extract = entity_extractor()
        out = {}
        for row in rows:
            records = {m: self.store.segments.read(Filter.of(row["video_id"], m)) for m in ("asr", "ocr", "audio_event")}
            records["frame"] = self.store.frames.read(Filter.of(row["video_id"]))
            profile = build_profile(row["video_id"], row["abs_path"], float(row["duration"] or 0.0), records,
                                    self.embedder.embed, extract)
            profile.vector = self.embedder.embed([profile.text])[0].tolist()
            out[row["video_id"]] = profile
        return out

    def select(self, question: str, filters: dict[str, Any] | None = None) -> Selection:
        """The videos ``question`` asks for, best first."""
        q = parse_question(question)
        profiles = self.profiles(filters)
        paths = self.store.videos.paths(p.video_id for p in profiles)
        matches = []
        pictured = ({row["video_id"] for row in self.store.videos.all() if row.get("has_video")}
                    if q.picture is False else set())
        for p in profiles:
            ok, score, reasons = self._conditions(q, p)
            if ok and not (q.picture is False and p.video_id in pictured):
                reasons += ["audio only"] if q.picture is False else []
                matches.append(Match(p.video_id, paths.get(p.video_id, p.uri), score, "; ".join(reasons), p))
        if q.words:
            matches = self._by_topic(q, matches)
        matches.sort(key=lambda m: -m.score)
        if q.count:
            matches = matches[: q.count]
        for m in matches:
            if q.facet:
                m.facts = _facet_names(m.profile, q.facet)
        return Selection(q, matches, len(profiles))

    @staticmethod
    def _conditions(q: LibraryQuery, p: Segment) -> tuple[bool, float, list[str]]:
        """Whether profile ``p`` passes the question's sound, genre and language conditions."""
        score, reasons = 0.0, []
        if q.audio:
            has, seconds = _has_audio(p, q.audio)
            if has == q.negated:
                return False, 0.0, []
            score += min(1.0, seconds / max(p.end, 1e-6))
            reasons.append(f"{'no ' if q.negated else ''}{q.audio}" + (f" {seconds:.0f} s" if q.audio != "silent" else ""))
        if any(_has_audio(p, sound)[0] for sound in q.audio_not):
            return False, 0.0, []
        reasons += [f"no {sound}" for sound in q.audio_not]
        if q.genres:
            found = [(g, s) for g in q.genres for ok, s in [_genre_score(p, g)] if ok]
            if not found:
                return False, 0.0, []
            score += max(s for _g, s in found)
            reasons += [f"genre {g} {s:.2f}" for g, s in found]
        if q.language:
            if p.meta.get("language") != q.language:
                return False, 0.0, []
            reasons.append(f"language {q.language}")
        return True, score, reasons or ["in the library"]

    def _by_topic(self, q: LibraryQuery, matches: list[Match]) -> list[Match]:
        """The videos about the content words, ranked by cosine to the profile plus half the share of
        the words their text contains. A video is about them when its text contains at least
        :data:`TOPIC_WORDS` of them; when no video contains any, when its profile is at least
        :data:`TOPIC_SIMILARITY` close to them (and within :data:`TOPIC_MARGIN` of the closest)."""
        import numpy as np

        if not matches:
            return []
        vector = np.asarray(self.embedder.embed([" ".join(q.words)])[0], dtype=np.float32)
        found = self._words_in(q.words, [m.video_id for m in matches])
        shares, sims = {}, {}
        for m in matches:
            sims[m.video_id] = sim = float(np.asarray(m.profile.vector or np.zeros_like(vector), dtype=np.float32) @ vector)
            words = found.get(m.video_id, set()) | set(_matched(q.words, m.profile.text))
            shares[m.video_id] = share = len(words) / len(q.words)
            m.topic = sim + 0.5 * share
            m.score += m.topic
            said = f" (words: {', '.join(sorted(words))})" if words else ""
            m.reason = "; ".join(x for x in (m.reason if m.reason != "in the library" else "",
                                             f"topic {m.topic:.2f}{said}") if x)
        if any(shares.values()):
            chosen = [m for m in matches if shares[m.video_id] >= TOPIC_WORDS]
        else:
            best = max(sims.values())
            chosen = [m for m in matches if sims[m.video_id] >= TOPIC_SIMILARITY and sims[m.video_id] >= best - TOPIC_MARGIN]
        return chosen or self._by_passage(q, matches)

    def _by_passage(self, q: LibraryQuery, matches: list[Match]) -> list[Match]:
        """The videos one passage of which is about the question ("someone receiving an award": "He'll be
        presented with the ... Achievement Award"), when neither the words nor the profiles decide: the
        question's best passage per video at least :data:`PASSAGE_SIMILARITY` close to it and within
        :data:`PASSAGE_MARGIN` of the closest video's."""
        import numpy as np

        vector = np.asarray(self.embedder.embed([q.text])[0], dtype=np.float32)
        where = Filter.of([m.video_id for m in matches], ("asr", "ocr", "caption"))
        best: dict[str, float] = {}
        for seg, sim in self.store.segments.vector_search(vector, 30 * len(matches), where=where):
            best[seg.video_id] = max(sim, best.get(seg.video_id, -1.0))
        top = max(best.values(), default=0.0)
        chosen = [m for m in matches if best.get(m.video_id, -1.0) >= max(PASSAGE_SIMILARITY, top - PASSAGE_MARGIN)]
        for m in chosen:
            m.score += best[m.video_id]
            m.reason = f"{m.reason}; passage {best[m.video_id]:.2f}"
        return chosen

    def _words_in(self, words: list[str], video_ids: list[str]) -> dict[str, set[str]]:
        """The content words each video's speech, screen text or captions contain (full-text search)."""
        where = Filter.of(video_ids, ("asr", "ocr", "caption"))
        out: dict[str, set[str]] = {}
        for seg, _score in self.store.segments.fts_search(" ".join(words), 50 * len(video_ids), where=where):
            out.setdefault(seg.video_id, set()).update(_matched(words, seg.text))
        return out

    # -- evidence ----------------------------------------------------------------------
    def _evidence(self, q: LibraryQuery, m: Match, filters: dict[str, Any] | None) -> list[Hit]:
        """The hits that show why ``m`` matched."""
        from .hybrid import HybridRetriever

        scoped = dict(filters or {}, video_id=[m.video_id])
        hits: list[Hit] = []
        if q.audio and q.audio != "silent" and not q.negated:
            events = self.store.segments.read(Filter.of(m.video_id, "audio_event"))
            events = [e for e in events if str(e.meta.get("label") or e.text).startswith(q.audio[:4])]
            if events:
                event = max(events, key=lambda e: e.end - e.start)
                hits = [Hit(event, m.score, f"audio_event: {event.text} {event.end - event.start:.0f} s", m.path,
                            {"library": m.score})]
        elif m.facts:
            hits = self._naming(m, scoped)
        elif q.summary:
            hits = HybridRetriever(self.store, self.cfg, self.embedder).coverage(q.text, OVERVIEW, scoped)
        if not hits and (q.words or q.genres):
            from vrag.indexers.profile import GENRES

            about = " ".join(q.words) or " ".join(g.description for g in GENRES if g.name in q.genres)
            hits = HybridRetriever(self.store, self.cfg, self.embedder).retrieve(about, EVIDENCE, scoped)[:EVIDENCE]
        if not hits:  # the profile itself says why (e.g. no speech at all)
            hits = [Hit(m.profile, m.score, "profile", m.path, {"library": m.score})]
        for hit in hits:
            hit.score = m.score
            hit.path = m.path
            hit.why = f"library: {display_name(m.path)} matches ({m.reason}); {hit.why}"
            hit.signals["library"] = m.score
        return hits

    def _naming(self, m: Match, scoped: dict[str, Any]) -> list[Hit]:
        """Records of the video that name the entities asked for (one per record, at most two)."""
        segs = self.store.segments.read(Filter.of(m.video_id, ("asr", "ocr")))
        hits, named = [], []
        for seg in sorted(segs, key=lambda s: s.start):
            names = [n for n in m.facts if n.lower() in seg.text.lower() and n not in named]
            if names:
                named += names
                hits.append(Hit(seg, m.score, f"{seg.modality}: names {', '.join(names)}", m.path, {"library": m.score}))
            if len(hits) == 2:
                break
        return hits


def _facet_names(profile: Segment, facet: str) -> list[str]:
    return list(profile.meta.get("entities", {}).get(facet, []))


# -- the answer ------------------------------------------------------------------------
_YES_NO = re.compile(r"^\s*(?:are|is|do|does|did|have|has|was|were|can)\b", re.I)
_SCENE = re.compile(r"^Scene [\d:]+[–-][\d:]+\.\s*")
_FACET_LABEL = {"GPE": "places", "PERSON": "people", "ORG": "organisations", "OTHER": "names"}


def _noun(question: str, n: int) -> str:
    found = re.search(r"\b(video|clip|recording|file|song|movie|film|episode|track)s?\b", question.lower())
    word = found.group(1) if found else "video"
    return word if n == 1 else word + "s"


def _citation(hit: Hit) -> dict[str, Any]:
    return {"video_id": hit.video_id, "path": hit.path, "start": round(hit.start, 3), "end": round(hit.end, 3)}


def _quote(hit: Hit, limit: int = 160) -> str:
    if hit.modality == "audio_event":
        return f"{hit.text} ({hit.end - hit.start:.0f} s)"
    text = _SCENE.sub("", " ".join(hit.text.split()))
    return f'"{text if len(text) <= limit else text[: limit - 1].rstrip() + "…"}"'


def _short(question: str, selection: Selection) -> str:
    names = [display_name(m.path) for m in selection.matches]
    n = len(names)
    head = f"{n} {_noun(question, n)}"
    if selection.query.facet and any(m.facts for m in selection.matches):
        listing = "; ".join(f"{display_name(m.path)}: {', '.join(m.facts) or '—'}" for m in selection.matches)
    else:
        listing = ", ".join(names)
    if _YES_NO.search(question):
        return f"Yes — {head}: {listing}"
    return f"{head}: {listing}"


def compose_answer(question: str, retrieval: Any) -> Answer:
    """The answer to a library question: a line per selected video (file name, why it matched, its
    evidence quoted with its time span), citing each piece of evidence. ``short`` is the direct
    answer ("4 clips: a.mp4, b.mp4, ..."); "Not found" only when no video matches."""
    selection: Selection | None = getattr(retrieval, "library", None)
    if selection is None or not selection.matches:
        short = "No" if _YES_NO.search(question) else ""
        return Answer(NOT_FOUND, [], False, "extractive", short=short)
    lines = [_short(question, selection) + "."]
    citations: list[dict[str, Any]] = []
    for m in selection.matches:
        facts = f"; {_FACET_LABEL.get(selection.query.facet, 'names')}: {', '.join(m.facts)}" if m.facts else ""
        lead = profile_lead(m.profile, 2)
        line = f"- {display_name(m.path)} ({m.reason}{facts})" + (f" — {lead}" if lead else "")
        quotes = [f"{_quote(h)} [{mmss(h.start)}–{mmss(h.end)}]" for h in m.hits if h.modality != "profile"]
        if quotes:
            line += ": " + " … ".join(quotes)
        lines.append(line)
        for hit in m.hits:
            cite = _citation(hit)
            if cite not in citations:
                citations.append(cite)
    return Answer("\n".join(lines), citations, True, "extractive", short=_short(question, selection))
