"""The per-video profile: one record saying what a whole video is, for questions about the collection.

A profile record (modality ``profile``, span ``[0, duration]``) holds a short, readable summary
that embeds well ("Weather forecast. About: flurries, York region... Places: Toronto... Audio:
speech 15 s, music 0 s. Language: en. Duration 0:25.") and, in ``meta``, the parts library-level
retrieval ranks and filters on: key phrases, named entities by type, genre scores, seconds of
speech/singing/music, language, duration and whether there is speech or screen text.

Everything is cheap and comes from the video's other records: entities and noun phrases from the
graph extractor's spaCy model (skipped with a note when spaCy is not installed), genres zero-shot
from the text embedder (cosine of the video's text to the short descriptions in :data:`GENRES`)
nudged by the audio events and the amount of screen text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from vrag.errors import MissingDependencyError
from vrag.registry import register
from vrag.schema import Segment, VideoRef

from .base import IndexContext, Stage

__all__ = ["ProfileStage", "Genre", "GENRES", "build_profile", "PRODUCER", "ENTITY_GROUPS"]

PRODUCER = "profile-3"


@dataclass(frozen=True)
class Genre:
    """A kind of video: its name, what it is like (embedded for zero-shot scoring), the words a
    question uses for it (a regex) and how sound and screen text speak for it."""

    name: str
    description: str
    cue: str
    #: score added per share of the video's length that is music / singing / wordless music
    music: float = 0.0
    singing: float = 0.0
    wordless: float = 0.0
    #: score added at full screen-text density (~1 line of screen text per second) without speech
    screen: float = 0.0
    #: the nouns that name one such recording in a question ("in the screencast", "the sonnet"; a
    #: regex, stricter than ``cue``: no word that also means something else, like "address")
    named: str = ""


#: The genres a profile scores; data, not code: add a row to know one more kind of video.
GENRES: tuple[Genre, ...] = (
    Genre("weather forecast", "weather forecast: temperature in degrees, rain, snow, flurries, wind, clouds, "
          "sunshine, storm, radar map, the forecast for the weekend", r"weather|forecasts?|meteorolog\w*",
          named=r"(?:weather )?forecasts?|weather (?:reports?|segments?|clips?)"),
    Genre("sports", "sports broadcast: hockey, football, basketball, golf, game, players, team, goals, score, "
          "the league, the season, coach", r"sports?|sporting|athletics",
          named=r"sports? (?:clips?|broadcasts?|segments?|highlights?)"),
    Genre("talk show", "talk show or entertainment news: the host talks about celebrities, television shows, "
          "film, music industry, awards, guests, the show this weekend", r"talk[- ]?shows?|chat shows?|entertainment",
          named=r"talk[- ]?shows?|chat shows?"),
    Genre("news", "news report: the anchor reports events, government, police, officials said, breaking news",
          r"news|reports?\b|bulletins?",
          named=r"news (?:reports?|clips?|broadcasts?|bulletins?)|newscasts?"),
    Genre("lecture", "lecture or scientific talk: a researcher presents a study on slides: findings, data, "
          "disease, patients, risk factors, colleagues at the university", r"lectures?|talks\b|presentations?|seminars?",
          named=r"lectures?|seminars?"),
    Genre("song", "a song: music with a singer, lyrics, chorus, verse, love, heart, baby, yeah",
          r"songs?|music videos?|singing|sung|singers?", music=0.1, singing=0.4,
          named=r"songs?|music videos?"),
    Genre("advertisement", "advertisement for a product: buy, skin, benefits, ingredients, technology, brand, "
          "try it today, available now", r"ads?\b|adverts?|advertisements?|commercials?|promos?|products?",
          named=r"ads?|adverts?|advertisements?|commercials?"),
    Genre("screencast", "software screencast: a computer screen with settings, windows, menus, buttons, "
          "a desktop application", r"screencasts?|software|tutorials?|screen recordings?|desktop|settings",
          screen=0.15,
          named=r"screencasts?|screen recordings?"),
    Genre("film", "animated film or movie scene: characters, an animation, a story with music and no talking",
          r"films?|movies?|animat\w*|cartoons?", wordless=0.3,
          named=r"cartoons?|animations?|animated (?:films?|movies?|shorts?)"),
    Genre("poetry reading", "a poem read aloud: a sonnet or verse with rhyme, thou, thee, thy, thine, beauty, "
          "love, time, the world, the poet", r"poems?|poetry|sonnets?|verses?|recitals?|recitations?",
          named=r"poems?|sonnets?|poetry readings?"),
    Genre("speech", "a public speech or address: my fellow citizens, my fellow Americans, our country, the nation, "
          "freedom, we shall, the world, ask not", r"speech(?:es)?|address(?:es)?|orations?|inaugural",
          named=r"speech(?:es)?|inaugural(?: address| excerpt| speech)?|orations?"),
    Genre("home video", "amateur home video: family and kids at a birthday party, a holiday trip, playing "
          "outside, cheering, nice shot",
          r"home videos?|personal videos?|amateur",
          named=r"home videos?"),
)

#: Entity types a profile keeps, grouped as questions ask for them.
ENTITY_GROUPS: dict[str, tuple[str, ...]] = {
    "PERSON": ("PERSON",),
    "ORG": ("ORG",),
    "GPE": ("GPE", "LOC", "FAC"),
    "OTHER": ("PRODUCT", "EVENT", "WORK_OF_ART", "NORP"),
}
#: The best genre is named in the profile text when it scores at least this.
GENRE_SHOWN = 0.2
_KEYPHRASES = 8
_ENTITIES = 8
_TEXT_CHARS = 2000
_AUDIO = ("speech", "singing", "music")


def _mmss(t: float) -> str:
    m, s = divmod(int(round(t)), 60)
    return f"{m}:{s:02d}"


def _audio_seconds(events: Sequence[Segment]) -> dict[str, float]:
    out = dict.fromkeys(_AUDIO, 0.0)
    for seg in events:
        label = str(seg.meta.get("label") or seg.text)
        label = "singing" if label.startswith("singing") else label
        out[label] = round(out.get(label, 0.0) + max(0.0, seg.end - seg.start), 2)
    return out


def _entities(texts: list[tuple[str, str]], extract: Callable[[Any], Any]) -> tuple[list[str], dict[str, list[str]]]:
    """Key phrases (noun phrases by how many records say them) and named entities by group."""
    mentions, _relations = extract(texts)
    ranked = sorted(mentions, key=lambda m: (-len(m.segments), -len(m.name.split()), m.name.lower()))
    keyphrases = [m.name for m in ranked if m.type == "CONCEPT"][:_KEYPHRASES]
    groups: dict[str, list[str]] = {}
    for group, labels in ENTITY_GROUPS.items():
        names = list(dict.fromkeys(m.name for m in ranked if m.type in labels))
        if names:
            groups[group] = names[:_ENTITIES]
    return keyphrases, groups


def _with_repeated_words(keyphrases: list[str], text: str) -> list[str]:
    """The key phrases led by the nouns the video says again and again ("volcano" three times in a
    clip about volcanoes): a topic word is a key phrase even when, alone, it is too common a word
    to be a node of the knowledge graph."""
    from vrag.indexers.graph_extract import _GENERIC, load_nlp
    from vrag.retrievers.query_terms import STOP_WORDS

    counts: Counter[str] = Counter()
    for tok in load_nlp()(text[:_TEXT_CHARS]):
        lemma = tok.lemma_.lower()
        if tok.pos_ == "NOUN" and len(lemma) > 3 and lemma not in STOP_WORDS | _GENERIC:
            counts[lemma] += 1
    have = " ".join(keyphrases).lower()
    repeated = [w for w, n in counts.most_common() if n >= 2 and w not in have]
    return list(dict.fromkeys(repeated[:_KEYPHRASES // 2] + keyphrases))[:_KEYPHRASES]


def _fallback_keyphrases(text: str) -> list[str]:
    """Without spaCy: the most frequent content words."""
    from vrag.retrievers.query_terms import STOP_WORDS, _WORD

    words = [w.lower() for w in _WORD.findall(text) if len(w) > 3 and w.lower() not in STOP_WORDS]
    return [w for w, _n in Counter(words).most_common(_KEYPHRASES)]


def genre_scores(similarity: Mapping[str, float], duration: float, audio: Mapping[str, float],
                 screen_lines: int) -> list[list[Any]]:
    """``[[genre, score], ...]`` best first: text similarity to each genre plus its sound/screen cues."""
    span = max(duration, 1e-6)
    music, singing, speech = (min(1.0, audio.get(k, 0.0) / span) for k in ("music", "singing", "speech"))
    density = min(1.0, screen_lines / span)
    out = []
    for g in GENRES:
        score = similarity.get(g.name, 0.0) + g.music * music + g.singing * singing
        score += (g.wordless * music + g.screen * density) * (1.0 - speech)
        out.append([g.name, round(float(score), 4)])
    return sorted(out, key=lambda x: -x[1])


def _languages(speech: Sequence[Segment]) -> list[str]:
    """The spoken languages, most seconds first (English renderings of other languages do not count;
    records made before languages were recorded count as English)."""
    found: Counter[str] = Counter()
    for s in speech:
        if not s.meta.get("translation_of"):
            found[str(s.meta.get("language") or "en")] += max(s.end - s.start, 0.01)
    return [lang for lang, _ in found.most_common()]


def build_profile(video_id: str, uri: str, duration: float, records: Mapping[str, Sequence[Segment]],
                  embed: Callable[[list[str]], Any], extract: Callable[[Any], Any] | None = None) -> Segment:
    """The profile record of one video from its ``records`` by modality (asr, ocr, caption, frame,
    audio_event). ``embed`` is the text embedder (genre scores); ``extract`` the entity extractor
    (:func:`vrag.indexers.graph_extract.extract`; None: key phrases from word counts only)."""
    import numpy as np

    speech = sorted(records.get("asr", ()), key=lambda s: s.start)
    screen = sorted(records.get("ocr", ()), key=lambda s: s.start)
    lines = list(dict.fromkeys(ln.strip() for s in screen for ln in s.text.splitlines() if len(ln.strip()) > 2))
    tags = list(dict.fromkeys(n for f in records.get("frame", ()) for n, _p in f.meta.get("tags", [])))
    duration = max([duration] + [s.end for recs in records.values() for s in recs])
    audio = _audio_seconds(records.get("audio_event", ()))
    said = " ".join(s.text for s in speech)
    shown = " · ".join(lines)
    texts = [(s.segment_id, s.text) for s in speech] + [(s.segment_id, ln) for s in screen for ln in s.text.splitlines()
                                                         if ln.strip()]
    keyphrases, entities = _entities(texts, extract) if extract and texts else ([], {})
    keyphrases = _with_repeated_words(keyphrases, said + " " + shown) if keyphrases else \
        _fallback_keyphrases(said + " " + shown)
    body = " ".join(x for x in (said, shown, ", ".join(tags)) if x)[:_TEXT_CHARS]
    similarity: dict[str, float] = {}
    if body:
        vectors = np.asarray(embed([body] + [g.description for g in GENRES]), dtype=np.float32)
        similarity = {g.name: float(vectors[0] @ v) for g, v in zip(GENRES, vectors[1:])}
    genres = genre_scores(similarity, duration, audio, len(lines))
    languages = _languages(speech)
    meta = {"keyphrases": keyphrases, "entities": entities, "genres": genres, "audio": audio,
            "language": languages[0] if languages else "", "languages": languages, "duration": round(duration, 3), "has_speech": bool(said.strip()),
            "has_text": bool(lines), "tags": tags[:_ENTITIES]}
    return Segment(video_id=video_id, modality="profile", start=0.0, end=round(duration, 3),
                   text=profile_text(meta, shown), producer=PRODUCER, uri=uri, meta=meta)


def profile_text(meta: Mapping[str, Any], shown: str = "") -> str:
    """The readable profile line from its ``meta``."""
    parts = []
    genres = meta.get("genres") or []
    if genres and genres[0][1] >= GENRE_SHOWN:
        parts.append(f"{str(genres[0][0]).capitalize()}.")
    if meta.get("keyphrases"):
        parts.append("About: " + ", ".join(meta["keyphrases"]) + ".")
    labels = {"GPE": "Places", "PERSON": "People", "ORG": "Organisations", "OTHER": "Also"}
    for group, label in labels.items():
        if meta.get("entities", {}).get(group):
            parts.append(f"{label}: " + ", ".join(meta["entities"][group]) + ".")
    if shown:
        parts.append("On screen: " + (shown if len(shown) <= 160 else shown[:159].rstrip() + "…") + ".")
    if meta.get("tags"):
        parts.append("Looks like: " + ", ".join(meta["tags"]) + ".")
    audio = meta.get("audio", {})
    parts.append("Audio: " + ", ".join(f"{k} {audio.get(k, 0.0):.0f} s" for k in _AUDIO) + ".")
    if meta.get("languages") or meta.get("language"):
        parts.append(f"Language: {', '.join(meta.get('languages') or [meta['language']])}.")
    parts.append(f"Duration {_mmss(float(meta.get('duration', 0.0)))}.")
    return " ".join(parts)


def entity_extractor() -> Callable[[Any], Any] | None:
    """The graph extractor's spaCy extraction, or None when spaCy (or its model) is not installed."""
    from . import graph_extract

    try:
        graph_extract.load_nlp()
    except MissingDependencyError:
        return None
    return graph_extract.extract


@register("stage", "profile")
class ProfileStage(Stage):
    """One profile record per video, built from its speech, screen text, keyframe tags and sound."""

    name = "profile"
    settings = ("text_embedder",)
    reads = ("asr", "ocr", "frame", "audio_event")
    writes = ("profile",)
    implicit = True

    @classmethod
    def version_tag(cls) -> str:
        return PRODUCER

    def run(self, video: VideoRef, ctx: IndexContext) -> list[Segment]:
        extract = entity_extractor()
        if extract is None:
            ctx.warn("profile", "spaCy is not installed: the profile has no named entities (pip install vrag[graph])")
        records = {m: ctx.records(m) for m in ("asr", "ocr", "frame", "audio_event")}
        from vrag.backends.text_embed import text_embedder

        embedder = text_embedder(ctx.cfg)
        ctx.producers["profile"] = PRODUCER
        return [build_profile(video.video_id, video.uri, video.duration, records, embedder.embed, extract)]
