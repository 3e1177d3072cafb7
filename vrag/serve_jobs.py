"""Background index jobs for ``vrag serve``: one writer at a time, progress readable while it runs."""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .errors import VragError

if TYPE_CHECKING:
    from .kb import KnowledgeBase
    from .pipeline import ProgressEvent

__all__ = ["IndexJobs", "JobBusy"]


class JobBusy(VragError):
    """An index job is already running on this knowledge base."""


class IndexJobs:
    """Index jobs on one knowledge base, each on its own thread and its own ``KnowledgeBase`` (searches
    keep using theirs); a second job while one runs is refused (the knowledge base has one writer)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def start(self, paths: list[str], prune: bool = False) -> dict[str, Any]:
        missing = [p for p in paths if not os.path.exists(p)]
        if not paths or missing:
            raise VragError(f"{missing[0]}: no such file or folder" if missing else "paths: give at least one")
        with self._lock:
            busy = [j["id"] for j in self._jobs.values() if j["status"] in ("queued", "running")]
            if busy:
                raise JobBusy(f"index job {busy[0]} is still running; wait for it (GET /jobs/{busy[0]})")
            job = {"id": uuid.uuid4().hex[:12], "status": "queued", "paths": list(paths), "prune": prune,
                   "created_at": time.time(), "finished_at": None, "progress": None, "files": [], "error": None}
            self._jobs[job["id"]] = job
        threading.Thread(target=self._run, args=(job,), name=f"vrag-index-{job['id']}", daemon=True).start()
        return self.get(job["id"])

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else {**job, "files": list(job["files"])}

    def _progress(self, job: dict[str, Any]) -> Any:
        def update(event: ProgressEvent) -> None:
            with self._lock:
                job["progress"] = asdict(event)

        return update

    def _run(self, job: dict[str, Any]) -> None:
        from .kb import KnowledgeBase

        with self._lock:
            job["status"] = "running"
        try:
            report = KnowledgeBase(config=self.kb.config).index(job["paths"], progress=self._progress(job),
                                                                 prune=job["prune"])
            files, status, error = [vars(r) for r in report.results], "done" if report.ok else "failed", None
            if not report.ok:
                error = "; ".join(f"{r.path}: {r.reason}" for r in report.results if r.status in ("failed", "partial"))
        except Exception as exc:  # the job reports it; the server stays up
            files, status, error = [], "failed", " ".join(str(exc).split()) or type(exc).__name__
        with self._lock:
            job.update(status=status, files=files, error=error, finished_at=time.time())
