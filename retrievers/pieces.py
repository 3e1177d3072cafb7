"""The quotable pieces of retrieved evidence: sentences of speech, lines of screen text, and the
parts of a structured caption, each with its own time span, and how a quote grows to the piece
that completes it (the next sentence that names the person, the list under a slide's header).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from vrag.schema import Hit, Segment

__all__ = ["Piece", "read_pieces", "split", "plain", "repeats", "next_piece", "block_after", "beside",
           "context_hits", "display_paths", "is_label", "profile_lead", "near_anchor", "ANTECEDENT_GAP", "FOLLOW_GAP"]

#: A pronoun-led quote borrows the sentence before it from a record ending at most this many seconds earlier.
ANTECEDENT_GAP = 2.0
#: A quote continues into the next sentence that starts at most this many seconds after it ends.
FOLLOW_GAP = 2.0
_PIECES = re.compile(r"\n|(?<=[.!?])\s+(?=[A-Z0-9\"'])")
#: How a visual-concept record's text starts (see vrag.indexers.captions.concept_records).
CONCEPTS_TEXT = "Seen: "
_CAPTION_PART = re.compile(r'(Looks like|On screen|Said|Sounds like): ("(?:[^"]*)"|[^.]*\.)')
_PRONOUN_LED = re.compile(r"^\W*(?:\S+\s+){0,4}?(?:she|he|they|his|her|their|him|them)\b", re.I)


@dataclass(frozen=True)
class Piece:
    """One quotable piece: its text, the hit it comes from, its span and its kind of evidence
    ("asr", "ocr", "caption", ...); ``line`` orders pieces within their record."""

    text: str
    hit: int
    start: float
    end: float
    modality: str
    line: int = 0
    #: where a screen line stands in the frame: (left, top, right, bottom) as fractions of the frame
    box: tuple[float, float, float, float] | None = None


def plain(text: str) -> str:
    """Words only, lowercased: the same sentence quoted with other punctuation is the same."""
    return " ".join(re.findall(r"\w+", text.lower()))


def repeats(text: str, seen: set[str]) -> bool:
    """Already quoted, or inside (or around) a quote already chosen."""
    p = plain(text)
    return any(p in other or other in p for other in seen)


def split(text: str, screen: bool) -> list[str]:
    """Quotable pieces: sentences (a short one joins the next: "Pity the world." + "Or else..."),
    or screen lines (a line of figures joins the line it qualifies: "dementia in twin with TBI /
    OR = 1.56; 95% CI=1.03-2.40")."""
    out: list[str] = []
    if screen:
        for line in (" ".join(raw.split()) for raw in text.splitlines() if raw.strip()):
            figures = sum(c.isdigit() for c in line) >= 2 and sum(c.isalpha() for c in line) < 0.6 * len(line)
            if out and figures:
                out[-1] += " / " + line
            else:
                out.append(line)
    else:
        for piece in _PIECES.split(text):
            piece = " ".join(piece.split())
            if out and len(out[-1]) < 40 and not out[-1].endswith(("?", "!")) and piece:
                out[-1] += " " + piece
            elif piece:
                out.append(piece)
    # a screen line of figures is an answer on its own ("1280 x 1024 (5:4)", "9°"); other scraps are not
    return [p for p in out if (len(p) >= 3 and sum(c.isalpha() for c in p) >= 3)
            or (screen and len(p) >= 2 and any(c.isdigit() for c in p))]


def _caption_parts(text: str) -> list[tuple[str, str]]:
    """A structured caption ("Scene 00:14–00:18. Looks like: website. On screen: "A; B". Said:
    "..."") as (modality, text) parts: what was said reads as speech, what was shown as screen
    lines, the picture's tags as a caption."""
    parts = []
    for label, body in _CAPTION_PART.findall(text):
        body = body.strip('"').rstrip("…").strip()
        if label == "On screen":
            parts.append(("ocr", "\n".join(x.strip() for x in body.split(";"))))
        elif label == "Said":
            parts.append(("asr", body))
        else:
            parts.append(("caption", f"{label}: {body}"))
    return parts or [("caption", text)]


def bilingual(seg: Any) -> str:
    """Speech in another language quoted with its English rendering ("J'ai faim de l'aubergine (fr; in
    English: I am hungry for eggplant)"), from either record of the pair; "" for other records."""
    meta = seg.meta or {}
    if seg.modality != "asr":
        return ""
    if meta.get("original"):  # the English rendering
        original, english, language = meta["original"], seg.text, meta.get("source_language", "")
    elif meta.get("english"):  # the original
        original, english, language = seg.text, meta["english"], meta.get("language", "")
    else:
        return ""
    return f"{original} ({language}; in English: {english})"


def read_pieces(hits: Sequence[Hit]) -> list[Piece]:
    """Every readable piece of ``hits``; merged hits are read part by part so each quote keeps its
    own span. The same words in several records (speech repeated in a caption) are kept once:
    from speech or screen text before a caption, then the tightest span."""
    out: list[Piece] = []
    for i, hit in enumerate(hits):
        s = hit.segment
        both = "" if s.meta.get("parts") else bilingual(s)
        if both:  # one piece: the original and its English are quoted together
            out.append(Piece(both, i, s.start, s.end, "asr"))
            continue
        parts = s.meta.get("parts") or [{"modality": s.modality, "text": s.text, "start": s.start, "end": s.end}]
        for part in parts:
            if part.get("modality") == "caption" and str(part.get("text") or "").startswith(CONCEPTS_TEXT):
                continue  # a keyframe's visual concepts are evidence ("seen at ..."), never quoted as an answer
            if part.get("quote"):  # speech in another language and its English: one piece, as above
                out.append(Piece(part["quote"], i, float(part["start"]), float(part["end"]), "asr"))
                continue
            kinds = _caption_parts(part["text"] or "") if part.get("modality") == "caption" else [
                (part.get("modality", s.modality), part["text"] or "")]
            boxes = _boxes(s) if part.get("modality", s.modality) == "ocr" and not s.meta.get("parts") else {}
            for modality, text in kinds:
                for n, piece in enumerate(split(text, screen=modality == "ocr")):
                    box = boxes.get(piece.split(" / ")[0]) if modality == "ocr" else None
                    out.append(Piece(piece, i, float(part["start"]), float(part["end"]), modality, n, box))
    rank = {p: (_from_caption(p, hits), p.end - p.start) for p in out}
    best: dict[str, Piece] = {}
    for p in out:
        key = plain(p.text)
        if key not in best or rank[p] < rank[best[key]]:
            best[key] = p
    kept = [p for p in out if best[plain(p.text)] is p]
    # a caption's copy of speech or screen text that a record already holds (it may be cut short with "…")
    sources = [plain(p.text) for p in kept if p.modality != "caption" and not _from_caption(p, hits)]
    return [p for p in kept if not (_from_caption(p, hits) and any(plain(p.text) in s for s in sources))]


def _boxes(seg: Segment) -> dict[str, tuple[float, float, float, float]]:
    """Each screen line of an OCR record and where it stands: (left, top, right, bottom)."""
    out = {}
    for line in seg.meta.get("lines") or []:
        points = line.get("box") if isinstance(line, dict) else None
        if points and len(points) >= 4:
            xs, ys = [float(x) for x, _y in points], [float(y) for _x, y in points]
            out[" ".join(str(line.get("text") or "").split())] = (min(xs), min(ys), max(xs), max(ys))
    return out


def is_label(text: str) -> bool:
    """A screen line that names what stands beside or under it: "Resolution:", "KEY BENEFITS:"."""
    return text.rstrip().endswith(":") and len(text) <= 40


#: "the caveat next to the mirror displays checkbox": where on screen the question points.
_NEAR = re.compile(r"\b(?:next to|beside|right of|left of|below|under|underneath|above|over)\s+(?:the\s+)?"
                   r"((?:[\w'-]+\s*){1,5}?)(?:\s+(?:checkbox|check box|button|box|label|field|option|line|text|"
                   r"title|heading|menu|icon|switch|toggle))?(?=\s*(?:[?,.;]|$|\b(?:in|on|at|while|when|during)\b))",
                   re.I)


def near_anchor(question: str, pieces: list[Piece], hits: Sequence[Hit]) -> tuple[int | None, list[int]]:
    """The screen line a question points at and the lines beside or under it ("What caveat is printed
    next to the mirror displays checkbox?": "Mirror displays" and the line on its row); (None, [])
    when it points at none."""
    found = _NEAR.search(question)
    if not found:
        return None, []
    wanted = set(plain(found.group(1)).split())
    best, share = None, 0.0
    for i, p in enumerate(pieces):
        words = set(plain(p.text).split())
        if p.modality == "ocr" and p.box is not None and words:
            overlap = len(words & wanted) / len(words | wanted)
            if overlap > share:
                best, share = i, overlap
    if best is None or share < 0.5:
        return None, []
    return best, beside(pieces, best, hits)


def beside(pieces: list[Piece], i: int, hits: Sequence[Hit], limit: int = 3) -> list[int]:
    """The screen lines that give line ``i`` (a label, or the line a question points at) its value: on
    the same row to its right ("Resolution:" "1280 x 1024 (5:4)"), else just under it; one per
    distinct text while line ``i`` is on screen (a setting changed over time), in time order, at
    most ``limit``."""
    p = pieces[i]
    if p.box is None:
        return []
    left, top, right, bottom = p.box
    height = max(bottom - top, 0.01)
    video = hits[p.hit].segment.video_id
    near = [j for j, q in enumerate(pieces) if j != i and q.modality == "ocr" and q.box is not None
            and hits[q.hit].segment.video_id == video and q.start < p.end and q.end > p.start
            and not is_label(q.text)]
    row = [j for j in near if abs((pieces[j].box[1] + pieces[j].box[3]) / 2 - (top + bottom) / 2) <= 0.6 * height
           and right - 0.01 <= pieces[j].box[0] <= right + 0.35]
    under = [j for j in near if abs(pieces[j].box[0] - left) <= 0.05 and 0 <= pieces[j].box[1] - bottom <= 1.5 * height]
    out: list[int] = []
    for j in sorted(row or under, key=lambda j: (pieces[j].start, pieces[j].box[0])):
        if not any(plain(pieces[j].text) == plain(pieces[k].text) for k in out):
            out.append(j)
    return out[:limit]


def _from_caption(piece: Piece, hits: Sequence[Hit]) -> bool:
    return hits[piece.hit].segment.modality == "caption"


def next_piece(pieces: list[Piece], i: int, hits: Sequence[Hit]) -> int | None:
    """The piece that follows piece ``i`` in the same video and kind of evidence: the next sentence
    of its record, else the first of a record starting at most :data:`FOLLOW_GAP` seconds after it."""
    p = pieces[i]
    if i + 1 < len(pieces) and pieces[i + 1].hit == p.hit and pieces[i + 1].modality == p.modality:
        return i + 1
    video = hits[p.hit].segment.video_id
    after = [j for j, q in enumerate(pieces) if q.hit != p.hit and q.modality == p.modality and q.line == 0
             and hits[q.hit].segment.video_id == video and p.end - 0.25 <= q.start <= p.end + FOLLOW_GAP]
    return min(after, key=lambda j: pieces[j].start) if after else None


def block_after(pieces: list[Piece], i: int, limit: int = 8) -> list[int]:
    """The lines under a screen header ("KEY INGREDIENTS:" then its list): the following lines of
    the same on-screen block, up to ``limit``."""
    p = pieces[i]
    out = []
    for j in range(i + 1, min(len(pieces), i + 1 + limit)):
        q = pieces[j]
        if q.hit != p.hit or q.modality != p.modality or q.start != p.start:
            break
        if q.text.endswith(":"):
            break  # the next header starts another list
        out.append(j)
    return out


def context_hits(store: Any, hits: list[Hit], read: int) -> list[Hit]:
    """``hits`` plus the speech around the top ``read`` speech hits that was not retrieved itself:
    the sentence before one that opens with a pronoun (it names who "she" is) and the sentence
    right after each (the answer often follows: "...president of Bell Media." "His name is Randy
    Lennox."). Extra hits score 0 and follow the hits; they are evidence for citations too."""
    from vrag.filters import Filter

    have = {h.segment.segment_id for h in hits}
    extra: list[Hit] = []
    for h in hits[:read]:
        s = h.segment
        if s.modality == "ocr" and any(is_label(line) for line in (s.text or "").splitlines()):
            extra += _screen_around(store, h, have)
        if s.modality != "asr":
            continue
        wanted: list[tuple[str, Segment]] = []
        if _PRONOUN_LED.match(s.text or ""):
            where = Filter.of(s.video_id, "asr", ends_within=(s.start - ANTECEDENT_GAP, s.start + 0.25))
            before = [b for b in store.segments.read(where) if b.segment_id not in have and b.start < s.start]
            if before:
                wanted.append(("the sentence before a quoted one", max(before, key=lambda b: b.end)))
        where = Filter.of(s.video_id, "asr", start=s.end - 0.25, end=s.end + FOLLOW_GAP)
        after = [a for a in store.segments.read(where) if a.segment_id not in have and a.start >= s.end - 0.25]
        if after:
            wanted.append(("the sentence after a quoted one", min(after, key=lambda a: a.start)))
        for why, seg in wanted:
            have.add(seg.segment_id)
            extra.append(Hit(seg, 0.0, f"asr: {why} (context)", h.path, signals={"context": 1.0}))
    return hits + extra


def _screen_around(store: Any, hit: Hit, have: set[str]) -> list[Hit]:
    """The screen lines shown with a retrieved label line ("Resolution:"), not retrieved themselves:
    its value stands beside or under it in another record. Only those :func:`beside` would read."""
    from vrag.filters import Filter

    s = hit.segment
    around = [x for x in store.segments.read(Filter.of(s.video_id, "ocr", start=s.start, end=s.end))
              if x.segment_id not in have]
    local = [hit] + [Hit(x, 0.0, "", hit.path) for x in around]
    pieces = read_pieces(local)
    keep = {pieces[j].hit for i, p in enumerate(pieces) if p.hit == 0 and is_label(p.text)
            for j in beside(pieces, i, local, limit=6) if pieces[j].hit > 0}
    out = []
    for n in sorted(keep):
        seg = around[n - 1]
        have.add(seg.segment_id)
        out.append(Hit(seg, 0.0, "ocr: the screen text beside a quoted label (context)", hit.path,
                       signals={"context": 1.0}))
    return out


def profile_lead(profile: Segment | None, parts: int = 3) -> str:
    """What a video's profile record says it is, read rather than quoted: its kind and what it is
    about ("Weather forecast. About: flurries, northern York region, ..."); "" without one."""
    if profile is None:
        return ""
    lead = [p.strip() for p in re.split(r"(?<=\.)\s+(?=[A-Z])", profile.text or "") if p.strip()]
    lead = [p for p in lead if not p.startswith(("Audio:", "Language:", "Duration", "On screen:", "Looks like:"))]
    return " ".join(lead[:parts])


def display_paths(paths: Sequence[str]) -> dict[str, str]:
    """How people see each path: the file name, or as many trailing folders as it takes to tell
    apart two files of the same name ("a/talk.mp4", "b/talk.mp4"); never the absolute path."""
    parts = {p: [x for x in re.split(r"[\\/]+", p) if x not in ("", ".", "..")] for p in set(paths)}
    out: dict[str, str] = {}
    for p, bits in parts.items():
        n = 1
        while n < len(bits) and any(o != p and obits[-n:] == bits[-n:] for o, obits in parts.items()):
            n += 1
        out[p] = "/".join(bits[-n:]) if bits else p
    return out
