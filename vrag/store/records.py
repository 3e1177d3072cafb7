"""Record tables: ``segments`` (text records, text vectors, full-text index) and ``frames``
(keyframes, image vectors: another vector space, so another table).

Writes are whole-video and atomic: a video's records are replaced in one ``merge_insert`` commit
(upsert on ``segment_id``, delete what the new run no longer produced), so a crash leaves either
the old or the new records, never a mix. Each table records which model made its vectors in its
schema metadata; using it with another model raises :class:`ModelMismatchError`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from ..errors import ModelMismatchError, StoreError
from ..filters import Filter
from ..schema import Segment
from .connection import Connection, replace_scope
from .sql import where as to_sql

__all__ = ["RecordTable", "SEGMENTS", "FRAMES", "ANN_MIN_ROWS", "ANN_NPROBES", "ANN_REFINE", "ANN_OVERFETCH"]

#: text records (speech, screen text, shots, windows, ...) with text vectors and full-text index
SEGMENTS = "segments"
#: keyframe records with image vectors (a different vector space, so a different table)
FRAMES = "frames"
#: Tables this big get an approximate vector index (IVF-PQ) and scalar indexes; below, exact search.
ANN_MIN_ROWS = 100_000
#: IVF partitions probed per query, and how many times k candidates are re-ranked with full vectors.
ANN_NPROBES = 48
ANN_REFINE = 8
#: At ANN size, candidates fetched per wanted hit before the filter is applied (post-filtering).
ANN_OVERFETCH = 4
_MODEL_KEY = b"vrag.model"
_DIM_KEY = b"vrag.dim"
#: per table: the setting naming its embedder, what messages call it, its filter columns
_TABLES = {
    SEGMENTS: ("text_embedder", "the text records", ("segment_id", "video_id", "modality")),
    FRAMES: ("image_embedder", "the keyframes", ("segment_id", "video_id")),
}


def segment_schema(model_id: str, dim: int) -> Any:
    """The Arrow schema of a record table whose vectors come from ``model_id`` (``dim`` wide)."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("segment_id", pa.string(), nullable=False),
            pa.field("video_id", pa.string(), nullable=False),
            pa.field("uri", pa.string()),
            pa.field("start", pa.float64()),
            pa.field("end", pa.float64()),
            pa.field("modality", pa.string()),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
            pa.field("producer", pa.string()),
            pa.field("meta", pa.string()),
            pa.field("created_at", pa.timestamp("us", tz="UTC")),
        ],
        metadata={_MODEL_KEY: model_id.encode(), _DIM_KEY: str(dim).encode()},
    )


class RecordTable:
    """``store.segments`` or ``store.frames``: timed records of videos, with vectors."""

    def __init__(self, conn: Connection, name: str):
        self._conn = conn
        self.name = name
        self._setting, self._label, self._filter_columns = _TABLES[name]

    # -- model ------------------------------------------------------------------------
    def model(self) -> tuple[str, int] | None:
        """(model id, dim) the vectors were made with, or None if there is no table yet."""
        table = self._conn.open(self.name)
        if table is None:
            return None
        meta = table.schema.metadata or {}
        return meta.get(_MODEL_KEY, b"?").decode(), int(meta.get(_DIM_KEY, b"0"))

    def check_model(self, model_id: str) -> None:
        """Raise :class:`ModelMismatchError` if the stored vectors come from another model."""
        stored = self.model()
        if stored is not None and stored[0] != model_id:
            raise ModelMismatchError(
                f"{self._conn.uri}: {self.name} were embedded with {stored[0]!r} but {self._setting} is "
                f"{model_id!r}; run `vrag reembed --db {self._conn.uri}` to re-embed them, or use another --db"
            )

    def ensure(self, model_id: str, dim: int) -> None:
        """Create the table (empty, for ``model_id`` vectors ``dim`` wide) if it does not exist yet;
        :class:`ModelMismatchError` if it exists with another model."""
        self._writable(model_id, dim)

    def _writable(self, model_id: str, dim: int) -> Any:
        with self._conn.lock:
            self.check_model(model_id)
            return self._conn.open_or_create(self.name, segment_schema(model_id, dim))

    # -- reading ----------------------------------------------------------------------
    def read(self, where: Filter | None = None, limit: int | None = None) -> list[Segment]:
        """The records ``where`` selects (all without it), at most ``limit``."""
        table = self._conn.open(self.name)
        if table is None:
            return []
        query = table.search().limit(limit)
        clause = to_sql(where)
        if clause:
            query = query.where(clause)
        return [Segment.from_row(r) for r in query.to_list()]

    def count(self) -> int:
        table = self._conn.open(self.name)
        return table.count_rows() if table is not None else 0

    def arrow(self, columns: Sequence[str] | None = None) -> Any | None:
        """The table (or these ``columns`` of it) as Arrow, or None if it does not exist."""
        table = self._conn.open(self.name)
        if table is None:
            return None
        if columns is None:
            return table.to_arrow()
        return table.search().select(list(columns)).limit(None).to_arrow()

    def index_types(self) -> set[str]:
        """The kinds of index the table has (``FTS``, ``IvfPq``, ``BTree``, ``Bitmap``)."""
        table = self._conn.open(self.name)
        return {ix.index_type for ix in table.list_indices()} if table is not None else set()

    def vector_search(
        self, vector: Iterable[float], k: int, where: Filter | None = None, model_id: str | None = None,
    ) -> list[tuple[Segment, float]]:
        """Nearest records by cosine similarity, with it; text records without text are never returned."""
        table = self._conn.open(self.name)
        if table is None:
            return []
        if model_id is not None:
            self.check_model(model_id)
        if self.name == SEGMENTS:
            where = (where or Filter()).narrow(has_text=True)
        clause = to_sql(where) or "true"
        vector = list(vector)
        rows: list[dict] | None = None
        big = table.count_rows() >= ANN_MIN_ROWS
        if big:
            # An IVF-PQ index may exist. Prefiltering would evaluate the clause over every row
            # (a full column scan per query), so search first and filter the over-fetched
            # candidates; only a selective filter that leaves fewer than k falls back to it.
            search = table.search(vector).distance_type("cosine").nprobes(ANN_NPROBES).refine_factor(ANN_REFINE)
            rows = search.where(clause, prefilter=False).limit(ANN_OVERFETCH * k).to_list()[:k]
            if len(rows) < k:
                rows = None
        if rows is None:
            search = table.search(vector).distance_type("cosine").where(clause, prefilter=True).limit(k)
            if big:
                search = search.nprobes(ANN_NPROBES).refine_factor(ANN_REFINE)
            rows = search.to_list()
        return [(Segment.from_row(r), 1.0 - float(r["_distance"])) for r in rows]

    def fts_search(self, query: str, k: int, where: Filter | None = None) -> list[tuple[Segment, float]]:
        """Best text records for ``query`` by BM25 over the full-text index (stemmed, stop words
        dropped); [] before the index exists or when no query word is indexed."""
        table = self._conn.open(self.name)
        if table is None or not query.strip():
            return []
        if not any(ix.index_type == "FTS" for ix in table.list_indices()):
            return []
        search = table.search(query, query_type="fts", fts_columns="text")
        clause = to_sql(where)
        if clause:
            search = search.where(clause, prefilter=True)
        try:
            rows = search.limit(k).to_list()
        except (ValueError, RuntimeError, OSError) as exc:  # a query the index cannot parse
            raise StoreError(f"{self._conn.uri}: full-text search for {query!r} failed: {exc}") from exc
        return [(Segment.from_row(r), float(r["_score"])) for r in rows]

    # -- writing ----------------------------------------------------------------------
    def replace(
        self, video_id: str, segments: Sequence[Segment], model_id: str, dim: int,
        modalities: Iterable[str] | None = None,
    ) -> int:
        """Make ``segments`` the record set of ``video_id`` (only of ``modalities``, if given) in one commit."""
        import pyarrow as pa

        rows = []
        for seg in segments:
            if seg.video_id != video_id:
                raise StoreError(f"segment {seg.segment_id} belongs to {seg.video_id}, not {video_id}")
            row = seg.to_row()
            if row["vector"] is None:
                row["vector"] = [0.0] * dim
            rows.append(row)
        scope = Filter.of(video_id)
        if modalities is not None:
            modalities = sorted(set(modalities))
            stray = {seg.modality for seg in segments} - set(modalities)
            if stray:
                raise StoreError(f"segments of {sorted(stray)} given to replace only {modalities}")
            if not modalities:
                return 0
            scope = scope.narrow(modalities=tuple(modalities))
        clause = to_sql(scope)
        data = pa.Table.from_pylist(rows, schema=segment_schema(model_id, dim)) if rows else None
        with self._conn.writing():
            table = self._writable(model_id, dim)
            if data is None:
                self._conn.retry_conflicts(f"removing records of video {video_id[:12]}", lambda: table.delete(clause))
                return 0
            self._conn.retry_conflicts(f"writing the records of video {video_id[:12]}",
                                       lambda: replace_scope(table, data, clause))
        return len(rows)

    def import_rows(self, video_id: str, rows: Any) -> None:
        """Make the Arrow ``rows`` (in this table's schema, e.g. from a distributed worker's scratch
        knowledge base) the records of ``video_id``, in one commit; the table is created with the
        rows' schema (and model metadata) if new."""
        self._conn.replace_video_rows(self.name, video_id, rows)

    def reembed(
        self, embed: Callable[[list[Any]], Any], model_id: str, dim: int, progress: Any = None, batch: int = 512,
        source: str = "text",
    ) -> int:
        """Replace every vector with ``embed(inputs)`` from another model, in one new version.

        ``source`` is the column fed to ``embed`` (``text``; for keyframes ``meta``, whose thumbnail
        path the caller's ``embed`` opens). Rows with an empty input keep a zero vector.
        """
        import numpy as np
        import pyarrow as pa

        table = self._conn.open(self.name)
        if table is None:
            return 0
        data = table.to_arrow()
        inputs = data.column(source).to_pylist()
        vectors = np.zeros((len(inputs), dim), dtype=np.float32)
        for i in range(0, len(inputs), batch):
            part = [(j, t) for j, t in enumerate(inputs[i : i + batch], start=i) if t]
            if part:
                vectors[[j for j, _ in part]] = embed([t for _, t in part])
            if progress is not None:
                progress(min(i + batch, len(inputs)), len(inputs))
        schema = segment_schema(model_id, dim)
        flat = pa.array(vectors.reshape(-1), type=pa.float32())
        data = data.set_column(
            data.schema.get_field_index("vector"), schema.field("vector"), pa.FixedSizeListArray.from_arrays(flat, dim)
        )
        with self._conn.lock, self._conn.writing():
            self._conn.db.create_table(self.name, data.cast(schema), mode="overwrite")
        with self._conn.writing():
            self.build_indexes()
        return len(inputs)

    # -- indexes ----------------------------------------------------------------------
    def build_indexes(self) -> None:
        """Bring the indexes up to date and compact (see :meth:`vrag.store.Store.finish_writes`)."""
        self._conn.retry_conflicts(f"indexing {self._label}", self._index)

    def _index(self) -> None:
        table = self._conn.open(self.name)
        if table is None:
            return
        if self.name == SEGMENTS and not any(ix.index_type == "FTS" for ix in table.list_indices()):
            from lancedb.index import FTS

            table.create_index("text", config=FTS(), replace=True)
        _scale_indexes(table, self._filter_columns)
        table.optimize()

    def text_index_behind(self) -> bool:
        """True when the records lack their full-text index or have rows outside it."""
        table = self._conn.open(self.name)
        if table is None or table.count_rows() == 0:
            return False
        fts = [ix for ix in table.list_indices() if ix.index_type == "FTS"]
        return not fts or any(table.index_stats(ix.name).num_unindexed_rows for ix in fts)


def _scale_indexes(table: Any, filter_columns: tuple[str, ...]) -> None:
    """At :data:`ANN_MIN_ROWS` rows: an IVF-PQ (cosine) vector index and scalar indexes on the filter columns."""
    rows = table.count_rows()
    if rows < ANN_MIN_ROWS:
        return
    from lancedb.index import Bitmap, BTree, IvfPq

    indexed = {col for ix in table.list_indices() for col in ix.columns}
    if "vector" not in indexed:
        dim = table.schema.field("vector").type.list_size
        table.create_index("vector", config=IvfPq(
            distance_type="cosine", num_partitions=max(16, int(rows ** 0.5)),
            num_sub_vectors=dim // 8 if dim % 8 == 0 else dim // 4,
        ))
    for column in filter_columns:
        if column not in indexed:
            table.create_index(column, config=Bitmap() if column == "modality" else BTree())
