"""The records that cross every boundary: :class:`Segment` (one timed piece of a
video's content) and :class:`VideoRef` (one media file, identified by content)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from collections.abc import Sequence
from typing import Any

__all__ = ["Segment", "VideoRef", "Hit", "Answer", "MODALITIES", "modalities", "segment_id"]

#: The built-in modality names, in the order they are listed (``window`` and ``chapter`` are coarse
#: retrieval units built from the other text records).
_LISTED = ("shot", "window", "chapter", "asr", "ocr", "caption", "frame", "audio_event")


def modalities() -> tuple[str, ...]:
    """Every record modality: the built-in ones, then those registered stages declare they write."""
    from .registry import registered

    written = [m for cls in registered("stage", strict=False).values() for m in cls.writes]
    return _LISTED + tuple(dict.fromkeys(m for m in written if m not in _LISTED))


class _Modalities(Sequence[str]):
    """:func:`modalities` as a read-only sequence, looked up when used (not at import)."""

    def __getitem__(self, index: Any) -> Any:
        return modalities()[index]

    def __len__(self) -> int:
        return len(modalities())

    def __contains__(self, value: object) -> bool:
        return value in _LISTED or value in modalities()

    def __repr__(self) -> str:
        return repr(modalities())


#: Modality names used in records and in ``vrag status`` counts (registered stages' included).
MODALITIES: Sequence[str] = _Modalities()


def segment_id(video_id: str, modality: str, start: float, end: float, producer: str, text: str = "") -> str:
    """Content-derived id: the same content from the same producer always gets the same id."""
    key = f"{video_id}|{modality}|{start:.3f}|{end:.3f}|{producer}|{text}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(slots=True)
class Segment:
    """A timed piece of one video: speech, on-screen text, a shot, a window...

    ``start``/``end`` are seconds on the media's own timeline. ``producer`` names the
    model and indexer version that made it; ``meta`` holds modality-specific extras
    (word timestamps, OCR boxes) and must be JSON-serialisable.
    """

    video_id: str
    modality: str
    start: float
    end: float
    text: str
    producer: str
    uri: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    vector: list[float] | None = None
    segment_id: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def __post_init__(self) -> None:
        self.start, self.end = float(self.start), float(self.end)
        if not self.segment_id:
            self.segment_id = segment_id(
                self.video_id, self.modality, self.start, self.end, self.producer, self.text
            )

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        return (
            f"Segment({self.modality} {self.start:.2f}-{self.end:.2f}s "
            f"video={self.video_id[:8]} {text!r})"
        )

    def to_row(self) -> dict[str, Any]:
        """The LanceDB row for this segment (``meta`` as JSON text)."""
        return {
            "segment_id": self.segment_id,
            "video_id": self.video_id,
            "uri": self.uri,
            "start": self.start,
            "end": self.end,
            "modality": self.modality,
            "text": self.text,
            "vector": self.vector,
            "producer": self.producer,
            "meta": json.dumps(self.meta, ensure_ascii=False, default=_json_default),
            "created_at": self.created_at,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Segment":
        vector = row.get("vector")
        return cls(
            video_id=row["video_id"],
            modality=row["modality"],
            start=row["start"],
            end=row["end"],
            text=row["text"],
            producer=row["producer"],
            uri=row.get("uri", ""),
            meta=json.loads(row.get("meta") or "{}"),
            vector=None if vector is None else list(vector),
            segment_id=row["segment_id"],
            created_at=row.get("created_at") or datetime.now(timezone.utc),
        )


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays (word timestamps, OCR boxes) -> plain Python
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


@dataclass(slots=True)
class VideoRef:
    """One media file as probed. ``video_id`` is a hash of the file's bytes, never its name."""

    video_id: str
    path: str  # as given at index time
    abs_path: str
    size: int
    mtime_ns: int
    duration: float
    has_video: bool
    has_audio: bool
    fps: float = 0.0
    width: int = 0
    height: int = 0
    streams: list[dict[str, Any]] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return self.abs_path

    def __repr__(self) -> str:
        kind = "video" if self.has_video else "audio"
        return f"VideoRef({kind} {self.path!r} {self.duration:.1f}s id={self.video_id[:8]})"


@dataclass(slots=True)
class Hit:
    """A retrieved segment with its score and the reason it was returned."""

    segment: Segment
    score: float
    why: str
    path: str = ""
    #: the evidence strengths behind ``score``: "similarity" (cosine of text vectors), "words"
    #: (fraction of query words present), "graph" (entity-path score), "image" (visual similarity)
    signals: dict[str, float] = field(default_factory=dict)
    #: the entity path between the question's entities this hit lies on, e.g. "polonium -[discover]-
    #: Marie Curie" ("" when graph retrieval did not find it on one); ``why`` shows it to people
    graph_path: str = ""

    @property
    def video_id(self) -> str:
        return self.segment.video_id

    @property
    def start(self) -> float:
        return self.segment.start

    @property
    def end(self) -> float:
        return self.segment.end

    @property
    def modality(self) -> str:
        return self.segment.modality

    @property
    def text(self) -> str:
        return self.segment.text

    def to_json(self) -> dict[str, Any]:
        """``{"video_id", "path", "start", "end", "modality", "text", "score", "why", "signals", "language",
        "speaker"}`` (stable contract; ``language``: the spoken language of a speech hit, ``speaker``: who
        speaks it; "" when unknown)."""
        s = self.segment
        return {
            "video_id": s.video_id,
            "path": self.path,
            "start": round(s.start, 3),
            "end": round(s.end, 3),
            "modality": s.modality,
            "text": s.text,
            "score": round(float(self.score), 4),
            "why": self.why,
            "signals": {k: round(float(v), 4) for k, v in self.signals.items()},
            "language": str((s.meta or {}).get("language") or ""),
            # who speaks a speech hit: a name or "S1", "S2"... (the speakers stage); "" when unknown
            "speaker": str((s.meta or {}).get("speaker", "")) if s.modality == "asr" else "",
        }


@dataclass(slots=True)
class Answer:
    """A generated answer and the evidence it cites (each citation: video_id, path, start, end)."""

    text: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    found: bool = True
    generator: str = "extractive"
    #: citations the generator made that pointed at no retrieved evidence, removed before showing
    dropped: int = 0
    #: the direct answer in a few words ("Randy Lennox", "SPF 30", "about 60%"); "" when there is none
    short: str = ""

