"""Keep a knowledge base in sync with a folder (``vrag watch DIR``), with watchdog.

The folder is indexed once (files gone since are removed), then new and changed media files are indexed
once they stop growing (size and modification time unchanged for ``watch_settle`` seconds: a copy in
progress is not indexed half-way), and deleted ones are removed. Writes go through
:meth:`KnowledgeBase.index`/``remove`` and so take the one-writer lock; while another process holds
it, the work waits and is retried. The library prints nothing: what happens is reported to
``on_event`` as :class:`WatchEvent`.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .discover import MEDIA_EXTS
from .errors import VragError
from .index_lock import IndexLockedError

if TYPE_CHECKING:
    from .kb import KnowledgeBase
    from .pipeline import IndexReport, ProgressEvent

__all__ = ["WatchEvent", "FolderWatcher"]


@dataclass(frozen=True)
class WatchEvent:
    """``kind``: indexed, unchanged, failed, removed, waiting (the knowledge base is locked by another writer)."""

    kind: str
    path: str
    detail: str = ""


class FolderWatcher:
    """Watch ``folder`` and mirror it into ``kb``: :meth:`run` (blocking) or :meth:`scan` + :meth:`start` +
    :meth:`step` (what ``run`` does) + :meth:`stop`."""

    def __init__(self, kb: KnowledgeBase, folder: str | os.PathLike[str], settle: float | None = None,
                 on_event: Callable[[WatchEvent], None] | None = None,
                 progress: Callable[[ProgressEvent], None] | None = None):
        self.kb, self.folder = kb, os.path.abspath(os.fspath(folder))
        if not os.path.isdir(self.folder):
            raise VragError(f"{self.folder}: not a folder (vrag watch DIR keeps a folder indexed)")
        self.settle = float(kb.config.watch_settle if settle is None else settle)
        if self.settle < 0:
            raise VragError(f"watch_settle {self.settle:g}: must be 0 seconds or more")
        self.on_event, self.progress = on_event or (lambda e: None), progress
        self._pending: dict[str, tuple[tuple[int, int] | None, float]] = {}  # path -> (size, mtime), since
        self._deleted: set[str] = set()
        self._lock = threading.Lock()
        self._observer: Any = None
        self._waiting = False

    # -- what the observer thread reports ------------------------------------------------
    def _ignored(self, path: str) -> bool:
        db = None if "://" in self.kb.store.uri else os.path.abspath(self.kb.store.path)
        parts = Path(path).relative_to(self.folder).parts if path.startswith(self.folder) else ()
        return any(p.startswith(".") for p in parts) or bool(db and (path + os.sep).startswith(db + os.sep))

    def changed(self, path: str) -> None:
        """``path`` (a file or folder) appeared or changed: index its media files once they settle."""
        path = os.path.abspath(path)
        if self._ignored(path):
            return
        files = [str(p) for p in Path(path).rglob("*") if p.is_file()] if os.path.isdir(path) else [path]
        with self._lock:
            for f in files:
                if Path(f).suffix.lower() in MEDIA_EXTS and not self._ignored(f):
                    self._pending[f] = (None, time.monotonic())
                    self._deleted.discard(f)

    def deleted(self, path: str) -> None:
        """``path`` (a file or folder) is gone: remove what was indexed from it."""
        path = os.path.abspath(path)
        if not self._ignored(path):
            with self._lock:
                self._pending = {p: v for p, v in self._pending.items() if p != path and not p.startswith(path + os.sep)}
                self._deleted.add(path)

    # -- the work ---------------------------------------------------------------------
    def scan(self) -> IndexReport | None:
        """Index the folder once; files indexed from it that are gone are removed. None while locked."""
        report = self._write(lambda: self.kb.index([self.folder], progress=self.progress, prune=True), self.folder)
        if report is not None:
            self._report(report)
        return report

    def _write(self, fn: Callable[[], Any], path: str) -> Any:
        try:
            result = fn()
        except IndexLockedError as exc:
            if not self._waiting:  # once per wait, not every poll
                self.on_event(WatchEvent("waiting", path, " ".join(str(exc).split())))
            self._waiting = True
            return None
        self._waiting = False
        return result

    def _report(self, report: IndexReport) -> None:
        for r in report.results:
            kind = {"partial": "failed"}.get(r.status, r.status)
            self.on_event(WatchEvent(kind, r.path, r.reason))

    def _settled(self, now: float) -> list[str]:
        ready = []
        with self._lock:
            for path, (sig, since) in list(self._pending.items()):
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    del self._pending[path]
                    continue
                new = (st.st_size, st.st_mtime_ns)
                if new != sig:
                    self._pending[path] = (new, now)
                elif now - since >= self.settle and st.st_size > 0:
                    ready.append(path)
        return ready

    def step(self) -> None:
        """Remove what was deleted; index the files that have stopped growing."""
        with self._lock:
            gone, self._deleted = sorted(self._deleted), set()
        for path in gone:
            results = self._write(lambda p=path: self.kb.remove([p]), path)
            if results is None:
                with self._lock:
                    self._deleted.add(path)  # locked: retry
                continue
            for r in results:
                if r.status == "removed":
                    self.on_event(WatchEvent("removed", r.path))
        for path in self._settled(time.monotonic()):
            report = self._write(lambda p=path: self.kb.index([p], progress=self.progress), path)
            if report is not None:
                with self._lock:
                    self._pending.pop(path, None)
                self._report(report)

    def start(self) -> None:
        """Start the watchdog observer (events are queued for :meth:`step`)."""
        from watchdog.observers import Observer

        self._observer = Observer()
        self._observer.schedule(_Handler(self), self.folder, recursive=True)
        self._observer.start()

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    def run(self, stop: threading.Event | None = None, poll: float = 0.5) -> None:
        """Scan, then follow the folder until ``stop`` is set (or Ctrl-C: KeyboardInterrupt propagates)."""
        stop = stop or threading.Event()
        self.start()  # first: what changes during the scan is not missed
        try:
            while self.scan() is None and not stop.wait(poll):
                pass
            while not stop.wait(poll):
                self.step()
        finally:
            self.stop()


def _Handler(watcher: FolderWatcher) -> Any:
    """A watchdog event handler feeding ``watcher`` (made here: watchdog is imported only when watching)."""
    from watchdog.events import FileSystemEventHandler

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: Any) -> None:
            kind = event.event_type
            if event.is_directory and kind == "modified":  # a file inside changed: its own event says which
                return
            if kind in ("created", "modified", "closed"):
                watcher.changed(os.fsdecode(event.src_path))
            elif kind == "deleted":
                watcher.deleted(os.fsdecode(event.src_path))
            elif kind == "moved":
                watcher.deleted(os.fsdecode(event.src_path))
                watcher.changed(os.fsdecode(event.dest_path))

    return Handler()
