"""Lance SQL: the only place that turns a :class:`~vrag.filters.Filter` (or a lookup) into a filter
expression. Values are quoted here, numbers checked finite here; nothing else writes SQL."""

from __future__ import annotations

import math
from typing import Iterable

from ..errors import StoreError
from ..filters import Filter

__all__ = ["where", "equals", "one_of", "of_video", "speaker_is"]


def _quote(value: str) -> str:
    """Quote a string literal for a Lance SQL filter."""
    if not isinstance(value, str):
        raise StoreError(f"filter value {value!r}: expected text")
    return "'" + value.replace("'", "''") + "'"


def _number(value: float, what: str) -> str:
    """A finite number as a SQL literal (NaN and infinities never reach the SQL)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise StoreError(f"{what} filter {value!r}: not a number") from None
    if not math.isfinite(number):
        raise StoreError(f"{what} filter {value!r}: not a finite number")
    return repr(number)


def _column(name: str) -> str:
    """A column reference: ``end`` is a SQL keyword, so it is quoted."""
    return f"`{name}`" if name == "end" else name


def equals(column: str, value: str) -> str:
    """``column = 'value'``."""
    return f"{_column(column)} = {_quote(value)}"


def one_of(column: str, values: Iterable[str]) -> str:
    """``column`` is one of ``values`` (``false`` when there are none)."""
    values = list(values)
    if not values:
        return "false"
    if len(values) == 1:
        return equals(column, values[0])
    return f"{_column(column)} IN (" + ", ".join(_quote(v) for v in values) + ")"


def of_video(video_id: str) -> str:
    """The rows of one video."""
    return equals("video_id", video_id)


def speaker_is(name: str) -> str:
    """Records whose ``meta`` (JSON text) says ``"speaker": name`` (LIKE wildcards in it escaped)."""
    import json

    if not isinstance(name, str):
        raise StoreError(f"speaker filter {name!r}: expected text")
    needle = '"speaker": ' + json.dumps(name, ensure_ascii=False)
    needle = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"meta LIKE {_quote('%' + needle + '%')}"


def where(selection: Filter | None) -> str | None:
    """The Lance SQL for ``selection`` (its conditions joined by AND); None when it has none."""
    if selection is None:
        return None
    parts = []
    if selection.video_ids is not None:
        parts.append(one_of("video_id", selection.video_ids))
    if selection.modalities is not None:
        parts.append(one_of("modality", selection.modalities))
    if selection.segment_ids is not None:
        parts.append(one_of("segment_id", selection.segment_ids))
    if selection.start is not None:
        parts.append(f"`end` >= {_number(selection.start, 'start')}")
    if selection.end is not None:
        parts.append(f"start <= {_number(selection.end, 'end')}")
    if selection.ends_within is not None:
        low, high = selection.ends_within
        parts.append(f"`end` >= {_number(low, 'end')} AND `end` <= {_number(high, 'end')}")
    if selection.has_text:
        parts.append("text != ''")
    if selection.speaker is not None:
        parts.append(speaker_is(selection.speaker))
    return " AND ".join(parts) or None
