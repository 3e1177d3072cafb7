"""The ``videos`` table: one row per indexed media file (identity, probe, status, recipe, counts)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterable

from ..filters import Filter
from .connection import Connection
from .sql import equals, where

__all__ = ["VideoTable", "VIDEOS"]

VIDEOS = "videos"

_VIDEO_FIELDS: tuple[tuple[str, str], ...] = (
    ("video_id", "string"),
    ("path", "string"),
    ("abs_path", "string"),
    ("size", "int64"),
    ("mtime_ns", "int64"),
    ("duration", "float64"),
    ("fps", "float64"),
    ("width", "int32"),
    ("height", "int32"),
    ("has_video", "bool"),
    ("has_audio", "bool"),
    ("streams", "string"),  # JSON
    ("status", "string"),  # indexing | indexed | partial | failed
    ("errors", "string"),  # JSON list of "stage: reason" (what failed; the video is partial)
    ("warnings", "string"),  # JSON list of "stage: note" (e.g. no audio track)
    ("recipe", "string"),  # JSON {stage: fingerprint of the settings + version that produced it}
    ("producers", "string"),  # JSON {stage: producer}
    ("counts", "string"),  # JSON {modality: n}
    ("indexed_at", "timestamp"),
)
_JSON_FIELDS = ("streams", "errors", "warnings", "recipe", "producers", "counts")
_JSON_LISTS = ("streams", "errors", "warnings")


def video_schema() -> Any:
    """The Arrow schema of the ``videos`` table."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "int64": pa.int64(),
        "int32": pa.int32(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([pa.field(n, types[t]) for n, t in _VIDEO_FIELDS])


class VideoTable:
    """``store.videos``: rows are dicts with the JSON fields (``streams``, ``errors``, ``warnings``,
    ``recipe``, ``producers``, ``counts``) decoded."""

    name = VIDEOS

    def __init__(self, conn: Connection):
        self._conn = conn

    def ensure(self) -> None:
        """Create the (empty) table if it does not exist yet."""
        self._conn.open_or_create(VIDEOS, video_schema())

    def upsert(self, row: dict[str, Any]) -> None:
        """Insert or replace the row of ``row["video_id"]`` (missing fields empty; JSON fields as
        Python values or JSON text; ``indexed_at`` now unless given)."""
        import pyarrow as pa

        full = {name: row.get(name) for name, _ in _VIDEO_FIELDS}
        for key in _JSON_FIELDS:
            if not isinstance(full[key], str):
                empty: Any = [] if key in _JSON_LISTS else {}
                full[key] = json.dumps(full[key] if full[key] is not None else empty)
        full["indexed_at"] = full["indexed_at"] or datetime.now(timezone.utc)
        batch = pa.Table.from_pylist([full], schema=video_schema())
        with self._conn.writing():
            table = self._conn.open_or_create(VIDEOS, video_schema())
            self._conn.retry_conflicts(
                f"recording video {full['video_id'][:12]}",
                lambda: table.merge_insert("video_id").when_matched_update_all().when_not_matched_insert_all().execute(batch))

    def all(self) -> list[dict[str, Any]]:
        """Every video row, ordered by path."""
        return self._rows(None)

    def get(self, video_id: str) -> dict[str, Any] | None:
        """The row of ``video_id``, or None."""
        rows = self._rows(where(Filter.of(video_id)))
        return rows[0] if rows else None

    def paths(self, video_ids: Iterable[str]) -> dict[str, str]:
        """video_id -> path as given at index time, for just these videos."""
        ids = sorted(set(video_ids))
        if not ids:
            return {}
        return {row["video_id"]: row["path"] for row in self._rows(where(Filter.of(ids)))}

    def at(self, abs_path: str) -> list[dict[str, Any]]:
        """The rows of the file at ``abs_path`` (more than one while a changed file is replaced)."""
        return self._rows(equals("abs_path", abs_path))

    def count(self) -> int:
        table = self._conn.open(VIDEOS)
        return table.count_rows() if table is not None else 0

    def arrow(self) -> Any | None:
        """The whole table as Arrow (stored form: JSON fields as text), or None if it does not exist."""
        table = self._conn.open(VIDEOS)
        return table.to_arrow() if table is not None else None

    def _rows(self, clause: str | None) -> list[dict[str, Any]]:
        table = self._conn.open(VIDEOS)
        if table is None:
            return []
        rows = (table.search().where(clause).limit(None).to_list() if clause else table.to_arrow().to_pylist())
        for row in rows:
            for key in _JSON_FIELDS:
                try:
                    row[key] = json.loads(row.get(key) or ("[]" if key in _JSON_LISTS else "{}"))
                except ValueError:
                    row[key] = [] if key in _JSON_LISTS else {}
        return sorted(rows, key=lambda r: r["path"])
