"""The :class:`Store`: one knowledge base, its tables as objects, and the connection-level
operations (write safety, conflict retries, table creation, whole-video removal, index upkeep)."""

from __future__ import annotations

import os
from typing import Any, Callable, ContextManager, Iterable

from ..errors import StoreWriteError
from ..kb_files import KBFiles
from .connection import Connection
from .graph import MENTIONS, GraphTables
from .records import FRAMES, SEGMENTS, RecordTable
from .sql import of_video
from .videos import VIDEOS, VideoTable

__all__ = ["Store"]


class Store:
    """One knowledge base: a directory, or an object-store URI (``s3://``, ``gs://``, ``az://``)
    opened with LanceDB ``storage_options``. Opened lazily; safe to share within a process.

    Its tables: :attr:`videos` (:class:`~vrag.store.videos.VideoTable`), :attr:`segments` and
    :attr:`frames` (:class:`~vrag.store.records.RecordTable`), :attr:`graph`
    (:class:`~vrag.store.graph.GraphTables`).
    """

    def __init__(self, path: str | os.PathLike[str], storage_options: dict[str, str] | None = None):
        self.files = KBFiles(path, storage_options)
        self.remote = self.files.remote
        #: the local directory (for an object-store knowledge base: its local work directory)
        self.path = self.files.local_dir
        #: what messages and JSON outputs call the knowledge base: its directory, or its URI
        self.uri = self.files.uri if self.remote else str(self.path)
        self.storage_options = dict(storage_options or {})
        self._conn = Connection(self.files, self.uri, self.storage_options)
        self.videos = VideoTable(self._conn)
        self.segments = RecordTable(self._conn, SEGMENTS)
        self.frames = RecordTable(self._conn, FRAMES)
        self.graph = GraphTables(self._conn)

    def __repr__(self) -> str:
        return f"Store({self.uri!r})"

    def records(self, name: str) -> RecordTable:
        """The record table called ``name`` (:data:`SEGMENTS` or :data:`FRAMES`)."""
        return {SEGMENTS: self.segments, FRAMES: self.frames}[name]

    def exists(self) -> bool:
        """True when a knowledge base is there (its ``videos`` table exists)."""
        return (self.remote or self.path.is_dir()) and VIDEOS in self._conn.tables()

    def has_tables(self, names: Iterable[str]) -> bool:
        return set(names) <= set(self._conn.tables())

    # -- write safety -----------------------------------------------------------------
    def pin_home(self) -> None:
        """At the start of a run: remember which directory the knowledge base is, so a run whose
        directory is deleted (or replaced) under it stops instead of silently starting a new one."""
        self._conn.pin_home()

    def writing(self) -> ContextManager[None]:
        """Around every write: the directory must still be the one the run started with, and a disk
        that is full, read-only or not writable becomes one :class:`StoreWriteError` naming the
        knowledge base (the run stops; every earlier commit stays)."""
        return self._conn.writing()

    def write_fault(self, exc: BaseException) -> StoreWriteError | None:
        """A :class:`StoreWriteError` if ``exc`` says the disk is full or read-only, or the knowledge
        base may not be written (LanceDB errors carry "(os error N)"), or its object store cannot be
        reached or refuses the write; else None."""
        return self._conn.write_fault(exc)

    def retry_conflicts(self, what: str, fn: Callable[[], Any]) -> Any:
        """``fn()``, again (with a growing random pause) while it fails on a commit conflict with
        another writer (writers on other machines share an object-store knowledge base); then a
        :class:`StoreWriteError` naming ``what``. Idempotent steps only (upserts, deletes)."""
        return self._conn.retry_conflicts(what, fn)

    # -- whole-store operations -------------------------------------------------------
    def create_tables(self, text: tuple[str, int] | None = None, image: tuple[str, int] | None = None,
                      graph: bool = False) -> None:
        """Object storage, at the start of a run: create the tables it writes before any of its
        records (``text``/``image``: (model id, dim) of the record tables; ``graph``: the extraction
        table). Two machines starting on a new bucket at once may both create a table (Lance then
        commits the later creation as an overwrite of the earlier); done first, that can only
        replace another run's still-empty table, never records. Local runs hold the write lock."""
        if not self.remote:
            return
        with self.writing():
            self.videos.ensure()
            if text is not None:
                self.segments.ensure(*text)
            if image is not None:
                self.frames.ensure(*image)
            if graph:
                self.graph.create()

    def delete_video(self, video_id: str) -> None:
        """Remove a video from every table (its ``videos`` row last, so an interrupted removal is redone)."""
        with self.writing():
            for name in (SEGMENTS, FRAMES, MENTIONS, VIDEOS):
                table = self._conn.open(name)
                if table is not None:
                    self.retry_conflicts(f"removing video {video_id[:12]}", lambda t=table: t.delete(of_video(video_id)))
        self.files.delete_video(video_id)

    def finish_writes(self) -> None:
        """After a batch of writes: bring the indexes up to date and compact.

        Text records always get a full-text index. Tables of :data:`ANN_MIN_ROWS` rows or more also
        get an approximate vector index (IVF-PQ, cosine) and scalar indexes on the filter columns;
        smaller tables are searched exactly, which is faster there. ``optimize`` folds new rows
        into existing indexes.
        """
        with self.writing():
            self.segments.build_indexes()
            self.frames.build_indexes()

    def indexes_behind(self) -> bool:
        """True when the text records lack their full-text index or have rows outside it: a run
        stopped (killed, disk full) between its writes and :meth:`finish_writes`."""
        return self.segments.text_index_behind()
