"""The LanceDB store: ``segments`` (text records + vectors + full-text index) and ``videos``.

Writes are whole-video and atomic: a video's segments are replaced in one
``merge_insert`` commit (upsert on ``segment_id``, delete what the new run no
longer produced), so a crash leaves either the old or the new records, never a mix.
The ``segments`` table records which text model made its vectors in the schema
metadata; opening it with another model raises :class:`ModelMismatchError`.
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Sequence

from .errors import ModelMismatchError, StoreError, StoreUnreachableError, StoreWriteError, VragError
from .kb_files import KBFiles, describe_remote_error, is_remote_failure, lance_options
from .registry import require
from .schema import Segment

__all__ = ["Store", "SEGMENTS", "FRAMES", "VIDEOS", "sql_quote"]

#: text records (speech, screen text, shots, windows, ...) with text vectors and full-text index
SEGMENTS = "segments"
#: keyframe records with image vectors (a different vector space, so a different table)
FRAMES = "frames"
VIDEOS = "videos"
#: Tables this big get an approximate vector index (IVF-PQ) and scalar indexes; below, exact search.
ANN_MIN_ROWS = 100_000
#: IVF partitions probed per query, and how many times k candidates are re-ranked with full vectors.
ANN_NPROBES = 48
ANN_REFINE = 8
#: At ANN size, candidates fetched per wanted hit before the filter is applied (post-filtering).
ANN_OVERFETCH = 4
_MODEL_KEY = b"vrag.model"
_DIM_KEY = b"vrag.dim"
_KIND = {SEGMENTS: "text", FRAMES: "image"}
_SETTING = {SEGMENTS: "text_embedder", FRAMES: "image_embedder"}

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
#: LanceDB reports file-system errors as text: "... No space left on device (os error 28) ..."
_OS_ERROR = re.compile(r"\(os error (\d+)\)")
#: Errors that mean nothing can be written to the knowledge base (they stop an index run).
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}
_NO_ACCESS = {errno.EACCES, errno.EPERM}
#: Lance's words for a commit that lost a race with another writer's (it may be retried).
_CONFLICT = re.compile(r"commit conflict|preempted by concurrent transaction|incompatible with concurrent transaction",
                       re.I)
#: Attempts at a commit that keeps losing races (writers on other machines, object storage).
COMMIT_ATTEMPTS = 6


def _replace_scope(table: Any, data: Any, scope: str) -> None:
    """One commit: upsert ``data`` on ``segment_id`` and delete the rows in ``scope`` it no longer has."""
    (
        table.merge_insert("segment_id")
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .when_not_matched_by_source_delete(scope)
        .execute(data)
    )


def sql_quote(value: str) -> str:
    """Quote a string literal for a Lance SQL filter."""
    return "'" + value.replace("'", "''") + "'"


class Store:
    """One knowledge base: a directory, or an object-store URI (``s3://``, ``gs://``, ``az://``)
    opened with LanceDB ``storage_options``. Opened lazily; safe to share within a process."""

    def __init__(self, path: str | os.PathLike[str], storage_options: dict[str, str] | None = None):
        self.files = KBFiles(path, storage_options)
        self.remote = self.files.remote
        #: the local directory (for an object-store knowledge base: its local work directory)
        self.path = self.files.local_dir
        #: what messages and JSON outputs call the knowledge base: its directory, or its URI
        self.uri = self.files.uri if self.remote else str(self.path)
        self.storage_options = dict(storage_options or {})
        self._db: Any = None
        self._lock = threading.RLock()
        self._home: tuple[int, int] | None = None  # (device, inode) of the directory a run writes to

    # -- connection -------------------------------------------------------------------
    @property
    def db(self) -> Any:
        with self._lock:
            if self._db is None:
                lancedb = require("lancedb", "The knowledge-base store", "all")
                try:
                    if self.remote:
                        self._db = lancedb.connect(self.uri, storage_options=lance_options(self.storage_options) or None)
                    else:
                        self.path.mkdir(parents=True, exist_ok=True)
                        self._db = lancedb.connect(str(self.path))
                except OSError as exc:
                    raise StoreError(f"{self.uri}: cannot open knowledge base: {exc.strerror or exc}") from exc
                except ValueError as exc:
                    raise StoreError(f"{self.uri}: cannot open knowledge base: {describe_remote_error(exc)}") from exc
            return self._db

    def exists(self) -> bool:
        return (self.remote or self.path.is_dir()) and VIDEOS in self._tables()

    # -- write safety -----------------------------------------------------------------
    def pin_home(self) -> None:
        """At the start of a run: remember which directory the knowledge base is, so a run whose
        directory is deleted (or replaced) under it stops instead of silently starting a new one."""
        self.db  # noqa: B018  (creates the directory)
        if self.remote:  # an object-store prefix has no identity to pin
            self._home = None
            return
        try:
            st = os.stat(self.path)
            self._home = (st.st_dev, st.st_ino)
        except OSError:
            self._home = None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around every write: the directory must still be the one the run started with, and a disk
        that is full, read-only or not writable becomes one :class:`StoreWriteError` naming the
        knowledge base (the run stops; every earlier commit stays)."""
        if self._home is not None:
            try:
                st = os.stat(self.path)
                moved = (st.st_dev, st.st_ino) != self._home
            except OSError:
                moved = True
            if moved:
                raise StoreWriteError(f"{self.uri}: the knowledge-base directory was deleted or replaced while "
                                      "vrag was writing to it; run the same command again to rebuild it")
        try:
            yield
        except VragError:
            raise
        except Exception as exc:
            fault = self.write_fault(exc)
            if fault is None:
                raise
            raise fault from exc

    def write_fault(self, exc: BaseException) -> StoreWriteError | None:
        """A :class:`StoreWriteError` if ``exc`` says the disk is full or read-only, or the knowledge
        base may not be written (LanceDB errors carry "(os error N)"), or its object store cannot be
        reached or refuses the write; else None."""
        if self.remote and is_remote_failure(exc):
            return StoreWriteError(f"{self.uri}: cannot write to the knowledge base: {describe_remote_error(exc)}; "
                                   "what was indexed before is kept: fix that and run the same command again")
        code = exc.errno if isinstance(exc, OSError) else None
        if code is None:
            found = _OS_ERROR.search(str(exc))
            code = int(found.group(1)) if found else None
        if code is None:
            return None
        filename = getattr(exc, "filename", None)
        ours = not isinstance(exc, OSError) or code not in _NO_ACCESS or (
            filename is not None and (os.path.abspath(filename) + os.sep).startswith(os.path.abspath(self.path) + os.sep))
        if code in _NO_SPACE or (code in _NO_ACCESS and ours):
            return StoreWriteError(f"{self.uri}: cannot write to the knowledge base: {os.strerror(code)}; "
                                   "what was indexed before is kept: fix that and run the same command again")
        return None

    def retry_conflicts(self, what: str, fn: Any) -> Any:
        """``fn()``, again (with a growing random pause) while it fails on a commit conflict with
        another writer: writers on other machines share an object-store knowledge base, and Lance
        refuses e.g. two index builds of one table version, or an upsert based on a version that
        another writer's table creation replaced. Idempotent steps only (upserts, deletes)."""
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                return fn()
            except VragError:
                raise
            except Exception as exc:
                if not _CONFLICT.search(str(exc)):
                    raise
                if attempt == COMMIT_ATTEMPTS - 1:
                    raise StoreWriteError(f"{self.uri}: {what} kept conflicting with another writer's commits "
                                          f"({COMMIT_ATTEMPTS} attempts); run the same command again") from exc
                time.sleep(min(8.0, 0.25 * 2 ** attempt) * (1 + random.random()))
        return None  # not reached

    def indexes_behind(self) -> bool:
        """True when the text records lack their full-text index or have rows outside it: a run
        stopped (killed, disk full) between its writes and :meth:`finish_writes`."""
        table = self._open(SEGMENTS)
        if table is None or table.count_rows() == 0:
            return False
        fts = [ix for ix in table.list_indices() if ix.index_type == "FTS"]
        return not fts or any(table.index_stats(ix.name).num_unindexed_rows for ix in fts)

    def _tables(self) -> list[str]:
        if self._db is None and not self.remote and not self.path.is_dir():
            return []
        try:
            return list(self.db.list_tables().tables)
        except (OSError, ValueError, RuntimeError) as exc:
            if not self.remote or not (isinstance(exc, ValueError) or is_remote_failure(exc)):
                raise
            raise self._unreachable(exc) from exc

    def _open(self, name: str) -> Any | None:
        # object storage: no listing first (it would cost a request per open)
        if not self.remote and name not in self._tables():
            return None
        try:
            return self.db.open_table(name)
        except ValueError as exc:
            # not there; or listed but never committed: its creation was cut short (killed, disk
            # full); the next create_table makes it, so until then it does not exist
            if "not found" in str(exc):
                return None
            raise
        except (OSError, RuntimeError) as exc:
            if not self.remote or not is_remote_failure(exc):
                raise
            raise self._unreachable(exc) from exc

    def _unreachable(self, exc: BaseException) -> StoreUnreachableError:
        return StoreUnreachableError(f"{self.uri}: cannot open knowledge base: {describe_remote_error(exc)}")

    # -- schema -----------------------------------------------------------------------
    @staticmethod
    def _segment_schema(model_id: str, dim: int) -> Any:
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

    @staticmethod
    def _video_schema() -> Any:
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

    def model_of(self, table_name: str = SEGMENTS) -> tuple[str, int] | None:
        """(model id, dim) a vector table was built with, or None if there is none yet."""
        table = self._open(table_name)
        if table is None:
            return None
        meta = table.schema.metadata or {}
        return meta.get(_MODEL_KEY, b"?").decode(), int(meta.get(_DIM_KEY, b"0"))

    def text_model(self) -> tuple[str, int] | None:
        return self.model_of(SEGMENTS)

    def check_model(self, table_name: str, model_id: str) -> None:
        """Raise :class:`ModelMismatchError` if the stored vectors come from another model."""
        stored = self.model_of(table_name)
        if stored is not None and stored[0] != model_id:
            raise ModelMismatchError(
                f"{self.uri}: {table_name} were embedded with {stored[0]!r} but {_SETTING[table_name]} is "
                f"{model_id!r}; run `vrag reembed --db {self.uri}` to re-embed them, or use another --db"
            )

    def check_text_model(self, model_id: str) -> None:
        self.check_model(SEGMENTS, model_id)

    def _vectors(self, table_name: str, model_id: str, dim: int) -> Any:
        with self._lock:
            self.check_model(table_name, model_id)
            table = self._open(table_name)
            if table is None:
                schema = self._segment_schema(model_id, dim)
                table = self.db.create_table(table_name, schema=schema, exist_ok=True)
            return table

    def has_tables(self, names: Iterable[str]) -> bool:
        return set(names) <= set(self._tables())

    def create_tables(self, text: tuple[str, int] | None = None, image: tuple[str, int] | None = None) -> None:
        """Object storage, at the start of a run: create the tables it writes before any of its
        records. Two machines starting on a new bucket at once may both create a table (Lance then
        commits the later creation as an overwrite of the earlier); done first, that can only
        replace another run's still-empty table, never records. Local runs hold the write lock."""
        if not self.remote:
            return
        with self.writing():
            self._videos()
            if text is not None:
                self._vectors(SEGMENTS, *text)
            if image is not None:
                self._vectors(FRAMES, *image)

    def _videos(self) -> Any:
        with self._lock:
            table = self._open(VIDEOS)
            if table is None:
                table = self.db.create_table(VIDEOS, schema=self._video_schema(), exist_ok=True)
            return table

    # -- videos -----------------------------------------------------------------------
    def upsert_video(self, row: dict[str, Any]) -> None:
        full = {name: row.get(name) for name, _ in _VIDEO_FIELDS}
        for key in _JSON_FIELDS:
            if not isinstance(full[key], str):
                empty: Any = [] if key in _JSON_LISTS else {}
                full[key] = json.dumps(full[key] if full[key] is not None else empty)
        full["indexed_at"] = full["indexed_at"] or datetime.now(timezone.utc)
        import pyarrow as pa

        batch = pa.Table.from_pylist([full], schema=self._video_schema())
        with self.writing():
            table = self._videos()
            self.retry_conflicts(f"recording video {full['video_id'][:12]}", lambda: table.merge_insert("video_id")
                                 .when_matched_update_all().when_not_matched_insert_all().execute(batch))

    def videos(self, where: str | None = None) -> list[dict[str, Any]]:
        """Video rows (JSON fields decoded), ordered by path."""
        table = self._open(VIDEOS)
        if table is None:
            return []
        rows = (table.search().where(where).limit(None).to_list() if where else table.to_arrow().to_pylist())
        for row in rows:
            for key in _JSON_FIELDS:
                try:
                    row[key] = json.loads(row.get(key) or ("[]" if key in _JSON_LISTS else "{}"))
                except ValueError:
                    row[key] = [] if key in _JSON_LISTS else {}
        return sorted(rows, key=lambda r: r["path"])

    def video(self, video_id: str) -> dict[str, Any] | None:
        rows = self.videos(f"video_id = {sql_quote(video_id)}")
        return rows[0] if rows else None

    def paths(self, video_ids: Iterable[str]) -> dict[str, str]:
        """video_id -> path as given at index time, for just these videos."""
        ids = sorted(set(video_ids))
        if not ids:
            return {}
        rows = self.videos("video_id IN (" + ", ".join(sql_quote(i) for i in ids) + ")")
        return {row["video_id"]: row["path"] for row in rows}

    def videos_at(self, abs_path: str) -> list[dict[str, Any]]:
        return self.videos(f"abs_path = {sql_quote(abs_path)}")

    # -- segments ---------------------------------------------------------------------
    def replace_segments(
        self,
        video_id: str,
        segments: Sequence[Segment],
        model_id: str,
        dim: int,
        modalities: Iterable[str] | None = None,
        table_name: str = SEGMENTS,
    ) -> int:
        """Make ``segments`` the record set of ``video_id`` (only of ``modalities``, if given) in one commit."""
        import pyarrow as pa

        schema = self._segment_schema(model_id, dim)
        rows = []
        for seg in segments:
            if seg.video_id != video_id:
                raise StoreError(f"segment {seg.segment_id} belongs to {seg.video_id}, not {video_id}")
            row = seg.to_row()
            if row["vector"] is None:
                row["vector"] = [0.0] * dim
            rows.append(row)
        scope = f"video_id = {sql_quote(video_id)}"
        if modalities is not None:
            modalities = sorted(set(modalities))
            stray = {seg.modality for seg in segments} - set(modalities)
            if stray:
                raise StoreError(f"segments of {sorted(stray)} given to replace only {modalities}")
            if not modalities:
                return 0
            scope += " AND modality IN (" + ", ".join(sql_quote(m) for m in modalities) + ")"
        data = pa.Table.from_pylist(rows, schema=schema) if rows else None
        with self.writing():
            table = self._vectors(table_name, model_id, dim)
            if data is None:
                self.retry_conflicts(f"removing records of video {video_id[:12]}", lambda: table.delete(scope))
                return 0
            self.retry_conflicts(f"writing the records of video {video_id[:12]}",
                                 lambda: _replace_scope(table, data, scope))
        return len(rows)

    def reembed(
        self,
        embed: Any,
        model_id: str,
        dim: int,
        progress: Any = None,
        batch: int = 512,
        table_name: str = SEGMENTS,
        source: str = "text",
    ) -> int:
        """Replace every vector of a table with ``embed(inputs)`` from another model, in one new version.

        ``source`` is the column fed to ``embed`` (``text``; for keyframes ``meta``, whose thumbnail
        path the caller's ``embed`` opens). Rows with an empty input keep a zero vector.
        """
        import numpy as np
        import pyarrow as pa

        table = self._open(table_name)
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
        schema = self._segment_schema(model_id, dim)
        flat = pa.array(vectors.reshape(-1), type=pa.float32())
        data = data.set_column(
            data.schema.get_field_index("vector"), schema.field("vector"), pa.FixedSizeListArray.from_arrays(flat, dim)
        )
        with self._lock, self.writing():
            self.db.create_table(table_name, data.cast(schema), mode="overwrite")
        self.finish_writes()
        return len(inputs)

    def import_rows(self, table_name: str, video_id: str, rows: Any) -> None:
        """Make ``rows`` (an Arrow table in this store's schema, e.g. from another store: a
        distributed worker's scratch knowledge base) the records of ``video_id`` in ``table_name``,
        in one commit; the table is created with the rows' schema (and model metadata) if new."""
        import pyarrow.compute as pc

        rows = rows.filter(pc.equal(rows.column("video_id"), video_id))
        scope = f"video_id = {sql_quote(video_id)}"
        with self._lock, self.writing():
            table = self._open(table_name)
            if table is None:
                self.db.create_table(table_name, rows)
            elif "segment_id" in rows.column_names:
                self.retry_conflicts(f"writing the records of video {video_id[:12]}",
                                     lambda: _replace_scope(table, rows, scope))
            else:
                self.retry_conflicts(f"replacing the {table_name} of video {video_id[:12]}", lambda: table.delete(scope))
                if rows.num_rows:
                    self.retry_conflicts(f"writing the {table_name} of video {video_id[:12]}", lambda: table.add(rows))

    def segments(self, where: str | None = None, limit: int | None = None, table_name: str = SEGMENTS) -> list[Segment]:
        table = self._open(table_name)
        if table is None:
            return []
        query = table.search().limit(limit)
        if where:
            query = query.where(where)
        return [Segment.from_row(r) for r in query.to_list()]

    def delete_video(self, video_id: str) -> None:
        """Remove a video from every table (its ``videos`` row last, so an interrupted removal is redone)."""
        with self.writing():
            for name in (SEGMENTS, FRAMES, "mentions", VIDEOS):
                table = self._open(name)
                if table is not None:
                    self.retry_conflicts(f"removing video {video_id[:12]}",
                                         lambda: table.delete(f"video_id = {sql_quote(video_id)}"))
        self.files.delete_video(video_id)

    def finish_writes(self) -> None:
        """After a batch of writes: bring the indexes up to date and compact.

        Text records always get a full-text index. Tables of :data:`ANN_MIN_ROWS` rows or more also
        get an approximate vector index (IVF-PQ, cosine) and scalar indexes on the filter columns;
        smaller tables are searched exactly, which is faster there. ``optimize`` folds new rows
        into existing indexes.
        """
        from lancedb.index import FTS

        def segments() -> None:
            table = self._open(SEGMENTS)
            if table is not None:
                if not any(ix.index_type == "FTS" for ix in table.list_indices()):
                    table.create_index("text", config=FTS(), replace=True)
                self._scale_indexes(table, ("segment_id", "video_id", "modality"))
                table.optimize()

        def frames() -> None:
            table = self._open(FRAMES)
            if table is not None:
                self._scale_indexes(table, ("segment_id", "video_id"))
                table.optimize()

        with self.writing():
            self.retry_conflicts("indexing the text records", segments)
            self.retry_conflicts("indexing the keyframes", frames)

    @staticmethod
    def _scale_indexes(table: Any, filter_columns: tuple[str, ...]) -> None:
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

    def vector_search(
        self,
        vector: Iterable[float],
        k: int,
        where: str | None = None,
        model_id: str | None = None,
        table_name: str = SEGMENTS,
    ) -> list[tuple[Segment, float]]:
        """Nearest records by cosine similarity; text rows without text are never returned."""
        table = self._open(table_name)
        if table is None:
            return []
        if model_id is not None:
            self.check_model(table_name, model_id)
        clause = "text != ''" if table_name == SEGMENTS else "true"
        clause += f" AND ({where})" if where else ""
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

    def fts_search(self, query: str, k: int, where: str | None = None) -> list[tuple[Segment, float]]:
        """Best text records for ``query`` by BM25 over the full-text index (stemmed, stop words
        dropped); [] before the index exists or when no query word is indexed."""
        table = self._open(SEGMENTS)
        if table is None or not query.strip():
            return []
        if not any(ix.index_type == "FTS" for ix in table.list_indices()):
            return []
        search = table.search(query, query_type="fts", fts_columns="text")
        if where:
            search = search.where(where, prefilter=True)
        try:
            rows = search.limit(k).to_list()
        except (ValueError, RuntimeError, OSError) as exc:  # a query the index cannot parse
            raise StoreError(f"{self.uri}: full-text search for {query!r} failed: {exc}") from exc
        return [(Segment.from_row(r), float(r["_score"])) for r in rows]

