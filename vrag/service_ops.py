"""The operations the services expose (``vrag mcp``, ``vrag serve``): one code path from loose arguments
to the same JSON the CLI prints with ``--json``, with the same validation and one-line errors.

Every function takes a :class:`~vrag.kb.KnowledgeBase` and returns plain JSON-ready data; bad input
raises :class:`~vrag.errors.VragError` whose message names the value and the reason.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Iterable

from .errors import VragError

if TYPE_CHECKING:
    from .kb import KnowledgeBase
    from .schema import Segment

__all__ = ["MODES", "time_arg", "filters", "search_json", "ask_json", "status_json", "videos_json",
           "transcript_json", "segment_json"]

#: The retrieval levels ``search``/``ask`` accept (as ``vrag search --mode``).
MODES = ("auto", "naive", "hybrid", "graph", "library")


def time_arg(value: Any, name: str) -> float | None:
    """Seconds from a number or a time code (``90``, ``1:30``, ``1:02:03``); None stays None."""
    from .timecode import parse

    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Real)):
        raise VragError(f"{name} {value!r}: not a time (use seconds, mm:ss or h:mm:ss)")
    try:
        return parse(str(value))
    except ValueError as exc:
        raise VragError(f"{name}: {exc}") from None


def _names(value: str | Iterable[str] | None, what: str) -> list[str] | None:
    if value is None or value == "" or value == []:
        return None
    values = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(v, str) and v for v in values):
        raise VragError(f"{what} {value!r}: expected a name or a list of names")
    return values


def filters(video: Any = None, modality: Any = None, start: Any = None, end: Any = None) -> dict[str, Any]:
    """The ``filters`` dict of :meth:`KnowledgeBase.search` from the CLI's ``--video/--modality/--from/--to``."""
    out: dict[str, Any] = {}
    videos = _names(video, "video")
    if videos:
        out["video_id"] = videos
    modalities = _names(modality, "modality")
    if modalities:
        from .schema import modalities as known

        bad = [m for m in modalities if m not in known()]
        if bad:
            raise VragError(f"modality {bad[0]!r}: valid: {', '.join(known())}")
        out["modality"] = modalities
    lo, hi = time_arg(start, "from"), time_arg(end, "to")
    if lo is not None and hi is not None and hi < lo:
        raise VragError(f"from {start} to {end}: the end is before the start")
    out.update({key: v for key, v in (("start", lo), ("end", hi)) if v is not None})
    return out


def _mode(mode: Any) -> str:
    if mode not in MODES:
        raise VragError(f"mode {mode!r}: valid: {', '.join(MODES)}")
    return str(mode)


def search_json(kb: KnowledgeBase, query: str, k: int = 10, mode: str = "auto", video: Any = None,
                modality: Any = None, start: Any = None, end: Any = None) -> dict[str, Any]:
    """``vrag search --json``."""
    where = filters(video, modality, start, end)
    return kb.search(query, k=k, mode=_mode(mode), filters=where).to_json()


def ask_json(kb: KnowledgeBase, question: str, k: int = 8, mode: str = "auto", video: Any = None,
             modality: Any = None, start: Any = None, end: Any = None) -> dict[str, Any]:
    """``vrag ask --json``."""
    where = filters(video, modality, start, end)
    return kb.ask(question, k=k, mode=_mode(mode), filters=where).to_json()


def status_json(kb: KnowledgeBase) -> dict[str, Any]:
    """``vrag status --json``."""
    return kb.status()


def videos_json(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The indexed videos: id, path, duration, status, counts (the ``videos`` of ``vrag status --json``)."""
    return kb.videos()


def segment_json(seg: Segment) -> dict[str, Any]:
    """One transcript record: time span, modality, text; ``speaker`` and ``language`` where known."""
    out: dict[str, Any] = {"start": round(seg.start, 3), "end": round(seg.end, 3), "modality": seg.modality,
                           "text": seg.text}
    for key in ("speaker", "language"):
        if seg.meta.get(key):
            out[key] = seg.meta[key]
    return out


def transcript_json(kb: KnowledgeBase, video: str, start: Any = None, end: Any = None,
                    modality: Any = None) -> dict[str, Any]:
    """``{"video_id", "path", "duration", "start", "end", "segments": [...]}``: a video's speech (``asr``)
    and screen text (``ocr``) in a time range (the whole video without one)."""
    if not isinstance(video, str) or not video.strip():
        raise VragError("video: give a video id, indexed path or file name")
    lo, hi = time_arg(start, "from"), time_arg(end, "to")
    wanted = _names(modality, "modality") or ["asr", "ocr"]
    row = kb.video(video)
    segs = kb.transcript(row["video_id"], lo, hi, wanted)
    return {"video_id": row["video_id"], "path": row["path"], "duration": round(float(row["duration"] or 0.0), 3),
            "start": lo, "end": hi, "modalities": wanted, "segments": [segment_json(s) for s in segs]}
