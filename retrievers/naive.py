"""Naive retrieval: vector top-k over the text segments."""

from __future__ import annotations

import math
import re
from typing import Any

from vrag.errors import VragError
from vrag.filters import Filter
from vrag.schema import MODALITIES, Hit
from vrag.store import Store

__all__ = ["NaiveRetriever", "record_filter", "default_modalities"]

#: Fine-grained modalities searched by default. Shots, windows and chapters are coarser views of the
#: same speech and screen text (a talk's one shot holds all of it): they serve global questions.
DEFAULT_MODALITIES = ("asr", "ocr", "caption")
#: Sound-event records ("speech", "music") are one word each: searched only when the query is about sound.
_SOUND = re.compile(r"\b(?:music\w*|songs?|sing|sings|singing|sang|sung|sound\w*|audio|nois\w*|silen\w*|applau\w*|"
                    r"laugh\w*|soundtrack|melod\w*|tune|beat|quiet)\b", re.I)
#: Sound events kept among a query's hits, in all and per video: they are one or two words each
#: ("singing voice"), so the same event in every song would otherwise crowd out what is sung or said.
SOUND_HITS, SOUND_HITS_PER_VIDEO = 3, 1


def cap_sound(hits: list[Hit], filters: dict[str, Any] | None) -> list[Hit]:
    """``hits`` with at most :data:`SOUND_HITS` sound-event hits, one per video (the best), unless the
    user asked for sound events."""
    asked = (filters or {}).get("modality")
    if asked == "audio_event" or (isinstance(asked, (list, tuple)) and list(asked) == ["audio_event"]):
        return hits
    out: list[Hit] = []
    per_video: dict[str, int] = {}
    for hit in hits:
        if hit.segment.modality == "audio_event":
            if sum(per_video.values()) >= SOUND_HITS or per_video.get(hit.video_id, 0) >= SOUND_HITS_PER_VIDEO:
                continue
            per_video[hit.video_id] = per_video.get(hit.video_id, 0) + 1
        out.append(hit)
    return out


def default_modalities(query: str = "") -> tuple[str, ...]:
    """What a query searches when no modality filter is given."""
    return DEFAULT_MODALITIES + (("audio_event",) if _SOUND.search(query) else ())


def record_filter(filters: dict[str, Any] | None, query: str = "") -> Filter:
    """The :class:`Filter` for a user's ``{"video_id": ..., "modality": [...], "start": s, "end": e}``
    (checked: known modalities, names, finite seconds, start not after end); without a modality,
    the query's :func:`default_modalities`."""
    filters = dict(filters or {})
    modalities = _names(filters.get("modality") or default_modalities(query), "modality")
    bad = [m for m in modalities if m not in MODALITIES]
    if bad:
        raise VragError(f"modality filter {bad[0]!r}: valid: {', '.join(MODALITIES)}")
    ids = _names(filters["video_id"], "video") if filters.get("video_id") else None
    start = _seconds(filters.get("start"), "start")
    end = _seconds(filters.get("end"), "end")
    if start is not None and end is not None and start > end:
        raise VragError(f"time filter: start {start:g} s is after end {end:g} s")
    speaker = filters.get("speaker")
    if speaker is not None:  # who speaks: speech records only
        if not isinstance(speaker, str) or not speaker.strip():
            raise VragError(f"speaker filter {speaker!r}: expected a speaker's name or label")
        if filters.get("modality") and "asr" not in modalities:
            raise VragError("speaker filter: it selects speech, but the modality filter leaves out asr")
        modalities = ["asr"]
    return Filter.of(ids, modalities, start=start, end=end, speaker=speaker)


def _names(value: Any, what: str) -> list[str]:
    """One name or a list of names, as a list; anything else is a :class:`VragError`."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple, set, frozenset)) or not all(isinstance(n, str) for n in names):
        raise VragError(f"{what} filter {value!r}: expected a name or a list of names")
    return list(names)


def _seconds(value: Any, what: str) -> float | None:
    """A finite number of seconds (or None): NaN, infinities and non-numbers never reach the SQL."""
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        seconds = float(value)
    except (TypeError, ValueError):
        raise VragError(f"{what} filter {value!r}: not a number of seconds") from None
    if not math.isfinite(seconds):
        raise VragError(f"{what} filter {value!r}: not a finite number of seconds")
    return seconds


class NaiveRetriever:
    def __init__(self, store: Store, embedder: Any):
        self.store = store
        self.embedder = embedder

    def retrieve(self, query: str, k: int = 10, filters: dict[str, Any] | None = None) -> list[Hit]:
        vector = self.embedder.embed([query])[0]
        where = record_filter(filters, query)
        sound = "audio_event" in (where.modalities or ())
        found = self.store.segments.vector_search(vector, 2 * k if sound else k, where=where,
                                                  model_id=self.embedder.model_id)
        paths = self.store.videos.paths(seg.video_id for seg, _ in found)
        hits = [
            Hit(seg, score, f"{seg.modality}: vector similarity {score:.2f}", paths.get(seg.video_id, seg.uri),
                {"similarity": score})
            for seg, score in found
        ]
        from .seen import explain_concepts, weigh_concepts  # what is seen: keyframe concepts in the text space

        hits = weigh_concepts(cap_sound(hits, filters))[:k] if sound else weigh_concepts(hits)
        explain_concepts(hits, vector, self.embedder)
        return hits
