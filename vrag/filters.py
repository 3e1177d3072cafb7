"""Which records a read or search covers: a typed filter that only the store turns into Lance SQL.

Every field narrows the selection (they combine with AND); ``None`` means no condition on it.
Callers build a :class:`Filter`; nothing outside :mod:`vrag.store` writes filter SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

__all__ = ["Filter"]


def _tuple(values: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        return (values,)
    return tuple(values)


@dataclass(frozen=True)
class Filter:
    """Records of these videos / modalities / segment ids, overlapping ``[start, end]`` seconds."""

    video_ids: tuple[str, ...] | None = None
    modalities: tuple[str, ...] | None = None
    segment_ids: tuple[str, ...] | None = None
    #: records that end at or after this time (overlap with a window that starts here)
    start: float | None = None
    #: records that start at or before this time (overlap with a window that ends here)
    end: float | None = None
    #: records whose end time lies in ``[low, high]`` (e.g. the sentence just before another)
    ends_within: tuple[float, float] | None = None
    #: only records with non-empty text
    has_text: bool = False
    #: only speech records of this speaker (``meta["speaker"]``: a name or "S1"; matched exactly)
    speaker: str | None = None

    @classmethod
    def of(
        cls,
        video_ids: str | Iterable[str] | None = None,
        modalities: str | Iterable[str] | None = None,
        segment_ids: str | Iterable[str] | None = None,
        **rest: object,
    ) -> "Filter":
        """A filter from a single id/modality or any iterable of them."""
        return cls(_tuple(video_ids), _tuple(modalities), _tuple(segment_ids), **rest)  # type: ignore[arg-type]

    def narrow(self, **changes: object) -> "Filter":
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]
