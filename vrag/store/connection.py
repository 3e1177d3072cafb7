"""The connection under every table of a knowledge base: opening LanceDB (a directory or an
object-store URI), listing and opening tables, and the safety every write goes through (the
directory must still be the run's, disk/permission/object-store failures become one
:class:`StoreWriteError`, commit conflicts with other writers are retried)."""

from __future__ import annotations

import errno
import os
import random
import re
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..errors import StoreError, StoreUnreachableError, StoreWriteError, VragError
from ..kb_files import KBFiles, describe_remote_error, is_remote_failure, lance_options
from ..registry import require
from .sql import of_video

__all__ = ["Connection", "COMMIT_ATTEMPTS"]

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


class Connection:
    """One knowledge base's LanceDB connection, opened lazily; safe to share within a process.
    Private to :mod:`vrag.store`: its tables go through it, nothing else does."""

    def __init__(self, files: KBFiles, uri: str, storage_options: dict[str, str]):
        self.files = files
        self.remote = files.remote
        self.path = files.local_dir
        self.uri = uri
        self.storage_options = storage_options
        self._db: Any = None
        #: held around table creation and whole-table replacement within this process
        self.lock = threading.RLock()
        self._home: tuple[int, int] | None = None  # (device, inode) of the directory a run writes to

    @property
    def db(self) -> Any:
        with self.lock:
            if self._db is None:
                lancedb = require("lancedb", "The knowledge-base store", "all")
                try:
                    if self.remote:
                        options = lance_options(self.storage_options) or None
                        self._db = lancedb.connect(self.uri, storage_options=options)
                    else:
                        self.path.mkdir(parents=True, exist_ok=True)
                        self._db = lancedb.connect(str(self.path))
                except OSError as exc:
                    raise StoreError(f"{self.uri}: cannot open knowledge base: {exc.strerror or exc}") from exc
                except ValueError as exc:
                    raise StoreError(f"{self.uri}: cannot open knowledge base: {describe_remote_error(exc)}") from exc
            return self._db

    # -- tables -----------------------------------------------------------------------
    def tables(self) -> list[str]:
        """Names of the tables there (none when the directory does not exist yet)."""
        if self._db is None and not self.remote and not self.path.is_dir():
            return []
        try:
            return list(self.db.list_tables().tables)
        except (OSError, ValueError, RuntimeError) as exc:
            if not self.remote or not (isinstance(exc, ValueError) or is_remote_failure(exc)):
                raise
            raise self._unreachable(exc) from exc

    def open(self, name: str) -> Any | None:
        """The LanceDB table ``name``, or None when it does not exist (yet)."""
        # object storage: no listing first (it would cost a request per open)
        if not self.remote and name not in self.tables():
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

    def open_or_create(self, name: str, schema: Any) -> Any:
        """The table ``name``, created empty with ``schema`` if it does not exist yet."""
        with self.lock:
            table = self.open(name)
            if table is None:
                table = self.db.create_table(name, schema=schema, exist_ok=True)
            return table

    def _unreachable(self, exc: BaseException) -> StoreUnreachableError:
        return StoreUnreachableError(f"{self.uri}: cannot open knowledge base: {describe_remote_error(exc)}")

    # -- write safety -----------------------------------------------------------------
    def pin_home(self) -> None:
        """Remember which directory the knowledge base is (see :meth:`vrag.store.Store.pin_home`)."""
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
        inside = filename is not None and (
            (os.path.abspath(filename) + os.sep).startswith(os.path.abspath(self.path) + os.sep))
        ours = not isinstance(exc, OSError) or code not in _NO_ACCESS or inside
        if code in _NO_SPACE or (code in _NO_ACCESS and ours):
            return StoreWriteError(f"{self.uri}: cannot write to the knowledge base: {os.strerror(code)}; "
                                   "what was indexed before is kept: fix that and run the same command again")
        return None

    def retry_conflicts(self, what: str, fn: Callable[[], Any]) -> Any:
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

    # -- shared writes ----------------------------------------------------------------
    def replace_video_rows(self, name: str, video_id: str, rows: Any) -> None:
        """Make the Arrow ``rows`` (of ``video_id``, in the table's schema, e.g. from a distributed
        worker's scratch knowledge base) the rows of ``video_id`` in ``name``; the table is created
        with the rows' schema (and metadata) if new. Tables keyed by ``segment_id`` are replaced
        in one commit; others by a delete, then an add."""
        import pyarrow.compute as pc

        rows = rows.filter(pc.equal(rows.column("video_id"), video_id))
        scope = of_video(video_id)
        with self.lock, self.writing():
            table = self.open(name)
            if table is None:
                self.db.create_table(name, rows)
            elif "segment_id" in rows.column_names:
                self.retry_conflicts(f"writing the records of video {video_id[:12]}",
                                     lambda: replace_scope(table, rows, scope))
            else:
                self.retry_conflicts(f"replacing the {name} of video {video_id[:12]}", lambda: table.delete(scope))
                if rows.num_rows:
                    self.retry_conflicts(f"writing the {name} of video {video_id[:12]}", lambda: table.add(rows))


def replace_scope(table: Any, data: Any, scope: str) -> None:
    """One commit: upsert ``data`` on ``segment_id`` and delete the rows in ``scope`` it no longer has."""
    (
        table.merge_insert("segment_id")
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .when_not_matched_by_source_delete(scope)
        .execute(data)
    )
