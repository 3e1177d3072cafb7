"""The LanceDB store: one :class:`Store` per knowledge base, whose tables are objects.

- ``store.videos``: one row per indexed media file;
- ``store.segments``: text records with text vectors and a full-text index;
- ``store.frames``: keyframes with image vectors (another vector space, so another table);
- ``store.graph``: per-video graph extractions and the resolved graph (entities, relations).

Callers select records with a :class:`vrag.filters.Filter`; only :mod:`vrag.store.sql` turns
it into a Lance expression. Nothing outside this package touches LanceDB.
"""

from __future__ import annotations

from .connection import COMMIT_ATTEMPTS
from .core import Store
from .graph import ENTITIES, MENTIONS, RELATIONS, GraphTables
from .records import ANN_MIN_ROWS, ANN_NPROBES, ANN_OVERFETCH, ANN_REFINE, FRAMES, SEGMENTS, RecordTable
from .videos import VIDEOS, VideoTable

__all__ = [
    "Store", "VideoTable", "RecordTable", "GraphTables", "SEGMENTS", "FRAMES", "VIDEOS", "MENTIONS", "ENTITIES",
    "RELATIONS", "ANN_MIN_ROWS", "ANN_NPROBES", "ANN_REFINE", "ANN_OVERFETCH", "COMMIT_ATTEMPTS",
]
