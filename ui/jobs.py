"""Index and remove jobs that run in a background thread, so the UI stays usable meanwhile.

One job at a time per knowledge base (the store has one writer). The UI polls a :class:`Job` for
its progress; nothing here imports Streamlit.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from vrag.errors import VragError
from vrag.pipeline import FileResult, ProgressEvent

__all__ = ["Job", "JobBoard"]

log = logging.getLogger("vrag.ui")

#: Order of the pipeline's progress stages within one file (for a rough per-file fraction).
_STAGES = ("start", "hash", "probe", "frames", "ocr", "asr", "embed", "write", "done")


@dataclass
class Job:
    kind: str  # index | remove
    paths: list[str]
    state: str = "running"  # running | done | failed
    event: ProgressEvent | None = None
    results: list[FileResult] = field(default_factory=list)
    error: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    def fraction(self) -> float:
        """0..1: files done plus how far the current file is through its stages."""
        e = self.event
        if not self.running:
            return 1.0
        if e is None or e.file_count == 0:
            return 0.0
        stage = _STAGES.index(e.stage) if e.stage in _STAGES else 1
        within = (stage + (min(1.0, e.done / e.total) if e.total else 0.0)) / len(_STAGES)
        return max(0.0, min(1.0, (e.file_index + within) / e.file_count))

    def describe(self) -> str:
        """One line: what is happening now, or how it ended."""
        verb = "Indexing" if self.kind == "index" else "Removing"
        if self.state == "failed":
            return f"{verb} failed: {self.error}"
        if not self.running:
            counts: dict[str, int] = {}
            for r in self.results:
                counts[r.status] = counts.get(r.status, 0) + 1
            summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to do"
            return f"{verb} finished in {self.finished - self.started:.0f} s: {summary}"
        e = self.event
        if e is None:
            return f"{verb} {', '.join(self.paths)}: starting (loading models)…"
        where = f" {e.done:.0f}/{e.total:.0f} s of media" if e.total else ""
        return f"{verb} file {e.file_index + 1}/{e.file_count}: {os.path.basename(e.path)} — {e.stage}{where}"


class JobBoard:
    """The current (or last) job of one knowledge base, and the folders indexed from the UI."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: Job | None = None
        self.roots: list[str] = []

    def busy(self) -> bool:
        return self.current is not None and self.current.running

    def start(self, kb: Any, kind: str, paths: list[str], prune: bool = False) -> Job:
        """Start indexing (``kind="index"``) or removing ``paths`` in a daemon thread."""
        if kind not in ("index", "remove"):
            raise VragError(f"job kind {kind!r}: valid: index, remove")
        paths = [os.path.abspath(os.path.expanduser(p)) for p in paths if str(p).strip()]
        if not paths:
            raise VragError("nothing to do: give a file or folder")
        with self._lock:
            if self.busy():
                raise VragError("another index job is running; wait for it to finish")
            job = self.current = Job(kind, paths)
            if kind == "index":
                self.roots += [p for p in paths if os.path.isdir(p) and p not in self.roots]
        thread = threading.Thread(target=self._run, args=(kb, job, prune), name=f"vrag-ui-{kind}", daemon=True)
        thread.start()
        return job

    @staticmethod
    def _run(kb: Any, job: Job, prune: bool) -> None:
        state, error = "done", ""
        try:
            if job.kind == "index":
                def progress(event: ProgressEvent) -> None:
                    job.event = event

                job.results = kb.index(job.paths, progress=progress, prune=prune).results
            else:
                job.results = kb.remove(job.paths)
                kb.store.finish_writes()
        except VragError as exc:
            state, error = "failed", " ".join(str(exc).split())
        except Exception as exc:  # a bug: keep the UI alive and say what happened
            log.exception("UI %s job failed", job.kind)
            state, error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        job.error, job.finished = error, time.time()
        job.state = state  # last: a reader that sees "done" sees everything else too
