"""The knowledge-graph tables: per-video extractions in ``mentions``, the resolved graph in
``entities`` and ``relations``.

Each video's extraction (mentions and relations with their segment ids) is replaced as a unit
when the video's text changes, and deleted with the video. The resolved graph is rebuilt from all
extractions (:mod:`vrag.graph_build`) and written here a table at a time, streamed in record
batches, each in one commit. The ``entities`` table carries the build's recipe and the version of
``mentions`` it was built from (:meth:`GraphTables.build_info`).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator, Sequence

from .connection import Connection
from .sql import of_video

__all__ = ["GraphTables", "MENTIONS", "ENTITIES", "RELATIONS"]

MENTIONS = "mentions"
ENTITIES = "entities"
RELATIONS = "relations"
_RECIPE_KEY = b"vrag.graph_recipe"
#: The ``mentions`` table version a graph was built from.
_SOURCE_KEY = b"vrag.graph_source"
#: Table rows written per record batch.
CHUNK = 50_000


def _mention_schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        pa.field("video_id", pa.string()), pa.field("kind", pa.string()), pa.field("key", pa.string()),
        pa.field("type", pa.string()), pa.field("name", pa.string()), pa.field("target", pa.string()),
        pa.field("weight", pa.float64()), pa.field("segments", pa.string()),
    ])


def _entity_schema(dim: int, recipe: str, source: str) -> Any:
    import pyarrow as pa

    return pa.schema([
        pa.field("entity_id", pa.string()), pa.field("name", pa.string()), pa.field("type", pa.string()),
        pa.field("aliases", pa.string()), pa.field("description", pa.string()),
        pa.field("vector", pa.list_(pa.float32(), dim)),
        pa.field("videos", pa.string()), pa.field("provenance", pa.string()),
    ], metadata={_RECIPE_KEY: recipe.encode(), _SOURCE_KEY: source.encode()})


def _relation_schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        pa.field("source", pa.string()), pa.field("target", pa.string()), pa.field("type", pa.string()),
        pa.field("weight", pa.float64()), pa.field("provenance", pa.string()),
    ])


class GraphTables:
    """``store.graph``: the extraction rows of each video and the resolved graph.

    Extraction rows (``mentions``): ``video_id, kind ("mention"|"relation"), key, type, name,
    target, weight, segments`` (JSON list of segment ids). Entities: ``entity_id, name, type,
    aliases, description, vector, videos, provenance`` (JSON text fields). Relations: ``source,
    target, type, weight, provenance``.
    """

    def __init__(self, conn: Connection):
        self._conn = conn

    # -- extractions ------------------------------------------------------------------
    def create(self) -> None:
        """Create the (empty) extraction table if it does not exist yet."""
        self._conn.open_or_create(MENTIONS, _mention_schema())

    def replace_extraction(self, video_id: str, mentions: Sequence[Any], relations: Sequence[Any]) -> None:
        """Make these the mentions (``key, type, name, segments``) and relations (``source, target,
        type, weight, segments``) extracted from ``video_id``."""
        import pyarrow as pa

        rows = [
            {"video_id": video_id, "kind": "mention", "key": m.key, "type": m.type, "name": m.name, "target": "",
             "weight": float(len(m.segments)), "segments": json.dumps(sorted(m.segments))}
            for m in mentions
        ] + [
            {"video_id": video_id, "kind": "relation", "key": r.source, "type": r.type, "name": "",
             "target": r.target, "weight": float(r.weight), "segments": json.dumps(sorted(r.segments))}
            for r in relations
        ]
        conn = self._conn
        with conn.lock, conn.writing():
            table = conn.open_or_create(MENTIONS, _mention_schema())
            conn.retry_conflicts(f"replacing the graph extraction of video {video_id[:12]}",
                                 lambda: table.delete(of_video(video_id)))
            if rows:
                data = pa.Table.from_pylist(rows, schema=_mention_schema())
                conn.retry_conflicts(f"writing the graph extraction of video {video_id[:12]}", lambda: table.add(data))

    def import_extraction(self, video_id: str, rows: Any) -> None:
        """Make the Arrow extraction ``rows`` (e.g. from a distributed worker's scratch knowledge
        base) the extraction of ``video_id``."""
        self._conn.replace_video_rows(MENTIONS, video_id, rows)

    def extraction_arrow(self) -> Any | None:
        """Every extraction row as Arrow, or None when nothing was extracted yet."""
        table = self._conn.open(MENTIONS)
        return table.to_arrow() if table is not None else None

    def version(self, name: str) -> int | None:
        """The current version of table ``name`` (:data:`MENTIONS`, :data:`ENTITIES` or
        :data:`RELATIONS`); None when it does not exist. Any write makes a new version."""
        table = self._conn.open(name)
        return table.version if table is not None else None

    # -- the resolved graph -----------------------------------------------------------
    def build_info(self) -> dict[str, str]:
        """What the stored graph was built with: ``{"recipe": ..., "source": ...}`` as given to
        :meth:`write_entities` (a key is absent when not recorded; {} when there is no graph)."""
        table = self._conn.open(ENTITIES)
        meta = (table.schema.metadata or {}) if table is not None else {}
        info = {"recipe": meta.get(_RECIPE_KEY), "source": meta.get(_SOURCE_KEY)}
        return {key: value.decode() for key, value in info.items() if value is not None}

    def entities(self, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Entity rows (JSON fields as text), without their name vectors unless ``columns`` asks."""
        table = self._conn.open(ENTITIES)
        if table is None:
            return []
        data = table.to_arrow()
        data = data.select(list(columns)) if columns is not None else data.drop(["vector"])
        return data.to_pylist()

    def name_vectors(self) -> dict[str, Any]:
        """Entity name -> its stored name vector (a numpy array)."""
        table = self._conn.open(ENTITIES)
        if table is None:
            return {}
        data = table.to_arrow().select(["name", "vector"])
        return dict(zip(data.column("name").to_pylist(), data.column("vector").to_numpy(zero_copy_only=False)))

    def relations(self) -> list[dict[str, Any]]:
        """Relation rows (``provenance`` as JSON text)."""
        table = self._conn.open(RELATIONS)
        return table.to_arrow().to_pylist() if table is not None else []

    def search_entities(self, vector: Iterable[float], k: int) -> list[tuple[str, float]]:
        """The ``k`` entities whose name vectors are nearest to ``vector``: (entity id, cosine similarity)."""
        table = self._conn.open(ENTITIES)
        if table is None:
            return []
        rows = table.search(list(map(float, vector))).distance_type("cosine").limit(k).select(
            ["entity_id", "_distance"]).to_list()
        return [(row["entity_id"], 1.0 - float(row["_distance"])) for row in rows]

    def write_relations(self, rows: Iterable[dict[str, Any]]) -> int:
        """Replace every relation with ``rows`` in one commit, streamed; returns how many."""
        return self._write(RELATIONS, _relation_schema(), rows)

    def write_entities(self, rows: Iterable[dict[str, Any]], dim: int, recipe: str, source: str) -> int:
        """Replace every entity with ``rows`` (name vectors ``dim`` wide) in one commit, streamed,
        recording the build's ``recipe`` and ``source`` (see :meth:`build_info`); returns how many."""
        return self._write(ENTITIES, _entity_schema(dim, recipe, source), rows)

    def _write(self, name: str, schema: Any, rows: Iterable[dict[str, Any]]) -> int:
        """Replace table ``name`` with ``rows`` in one commit, streamed :data:`CHUNK` rows per batch."""
        import pyarrow as pa

        count = 0

        def batches() -> Iterator[Any]:
            nonlocal count
            buf: list[dict[str, Any]] = []
            for row in rows:
                buf.append(row)
                if len(buf) >= CHUNK:
                    count += len(buf)
                    yield pa.RecordBatch.from_pylist(buf, schema=schema)
                    buf.clear()
            count += len(buf)
            yield pa.RecordBatch.from_pylist(buf, schema=schema)

        reader = pa.RecordBatchReader.from_batches(schema, batches())
        conn = self._conn
        with conn.lock, conn.writing():
            mode = "overwrite" if name in conn.tables() else "create"
            conn.db.create_table(name, reader, schema=schema, mode=mode)
        return count
