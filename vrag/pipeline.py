"""Index media files into a store: skip what is unchanged, run the stages, embed, write.

One file at a time; each file's records are committed in one write, so an
interrupted run loses at most the file in flight. Per-file problems are reported
and the batch goes on; configuration problems stop the run. The parts: what to redo
(:mod:`vrag.stages`), the per-video job (:mod:`vrag.index_job`), embedding
(:mod:`vrag.index_embed`) and the store's side of a run (:mod:`vrag.index_write`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from .backends.text_embed import text_embedder
from .config import Config
from .discover import Found, discover
from .errors import MediaError, VragError
from .index_embed import embed_records
from .index_job import FATAL as _FATAL, JobOutcome, VideoJob
from .index_write import IMAGE_MODALITIES, RunStore, VideoWrite, video_row
from .indexers.base import IndexContext
from .media.probe import content_hash, probe
from .registry import register
from .schema import VideoRef
from .stages import declared, helpers, owners, parse_recipe, plan, wanted
from .store import Store

__all__ = ["ProgressEvent", "FileResult", "IndexReport", "Indexer", "Engine", "LocalEngine"]

log = logging.getLogger("vrag.pipeline")

#: Why a file's records were not written: it changed between the first look and the write.
_CHANGED = "file changed while it was being indexed; nothing was written (index it again)"


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of an index run. ``stage`` is one of: start, hash, probe, frames, ocr, asr,
    embed, write, done. ``done``/``total`` are seconds of media for media stages."""

    path: str
    file_index: int
    file_count: int
    stage: str
    done: float = 0.0
    total: float = 0.0


@dataclass
class FileResult:
    path: str
    status: str  # indexed | partial | unchanged | failed | removed
    reason: str = ""
    video_id: str = ""
    duration: float = 0.0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    #: seconds per stage: hash, probe, frames (decode + shots, OCR excluded), ocr, asr, embed, write
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class IndexReport:
    results: list[FileResult] = field(default_factory=list)

    def by_status(self, status: str) -> list[FileResult]:
        return [r for r in self.results if r.status == status]

    @property
    def ok(self) -> bool:
        return not self.by_status("failed") and not self.by_status("partial")


class Indexer:
    """Runs an index job against one store with one config."""

    def __init__(self, store: Store, cfg: Config, progress: Callable[[ProgressEvent], None] | None = None):
        self.store = store
        self.cfg = cfg
        self.progress = progress or (lambda event: None)
        self._embedder: Any = None
        self._known: dict[str, dict[str, Any]] = {}
        self._by_path: dict[str, list[str]] = {}
        self.graph_changed = False
        self.seen: set[str] = set()
        self.out = RunStore(store)
        self._stages: dict[str, Any] | None = None

    @property
    def stages(self) -> dict[str, Any]:
        """The registered stages in run order (looked up once per indexer)."""
        if self._stages is None:
            self._stages = declared()
        return self._stages

    def _remember(self, row: dict[str, Any]) -> None:
        old = self._known.get(row["video_id"])
        if old is not None and old["abs_path"] in self._by_path:
            self._by_path[old["abs_path"]].remove(row["video_id"])
        self._known[row["video_id"]] = row
        self._by_path.setdefault(row["abs_path"], []).append(row["video_id"])

    def _forget(self, video_id: str) -> None:
        old = self._known.pop(video_id, None)
        if old is not None:
            self._by_path[old["abs_path"]].remove(video_id)

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            self._embedder = text_embedder(self.cfg)
        return self._embedder

    # -- batch ------------------------------------------------------------------------
    def run(self, paths: Iterable[str | os.PathLike[str]], prune: bool = False) -> IndexReport:
        paths = [os.fspath(p) for p in paths]
        files, report = self._begin(paths, pin=True)
        wrote = False
        for i, found in enumerate(files):
            result = self.index_file(found, i, len(files))
            wrote = wrote or result.status in ("indexed", "partial")
            report.results.append(result)
        if prune:
            for removed in self.prune(paths, {f.abs_path for f in files}):
                report.results.append(removed)
                wrote = True
        self.out.finish(wrote)
        if self.graph_changed or (prune and any(r.status == "removed" for r in report.results)):
            self.rebuild_graph()
        elif "graph" in self.cfg.stages:
            from vrag.graph_store import needs_rebuild

            if needs_rebuild(self.store, float(self.cfg.graph_merge_similarity), self.embedder.model_id):
                self.rebuild_graph()  # merge settings or embedder changed since the last build
        return report

    def _begin(self, paths: list[str], pin: bool = False) -> tuple[list[Found], IndexReport]:
        """Start a run: check the models, (``pin``) pin the knowledge base, create its tables on
        object storage, discover the files (the report starts with those that cannot be read) and
        read the videos table once: re-runs over big folders do no query per file."""
        self.out.prepare(self.cfg, self.embedder, pin)
        files, skipped = discover(paths)
        report = IndexReport([FileResult(s.path, "failed", s.reason) for s in skipped])
        self._known, self._by_path = {}, {}
        for row in self.out.videos():
            self._remember(row)
        return files, report

    def index_file(self, found: Found, index: int = 0, count: int = 1, plan_only: bool = False) -> FileResult:
        """Index one discovered file (or, with ``plan_only``, only decide whether it needs it: an
        "unchanged" result, or status "todo"). Errors become a "failed" result naming the reason."""
        emit = lambda stage, done=0.0, total=0.0: self.progress(  # noqa: E731
            ProgressEvent(found.path, index, count, stage, done, total)
        )
        emit("start")
        started = time.monotonic()
        try:
            result = self._index_one(found, emit, plan_only)
        except _FATAL:
            raise
        except VragError as exc:
            result = FileResult(found.path, "failed", _one_line(exc, found.path))
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a bug or an unexpected library error: report, go on
            fault = self.out.write_fault(exc)  # e.g. no space left for a keyframe thumbnail
            if fault is not None:
                raise fault from exc
            log.exception("unexpected error while indexing %s", found.path)
            result = FileResult(found.path, "failed", f"internal error: {type(exc).__name__}: {exc}")
        result.seconds = time.monotonic() - started
        if result.status == "failed" and result.video_id:
            self.out.done_with(result.video_id)  # object storage: its thumbnails in flight go
        if result.status != "todo":
            emit("done")
        return result

    def plan_run(self, paths: list[str]) -> tuple[IndexReport, list[Found]]:
        """For a distributed run: the report so far (files that cannot be read, unchanged files) and
        the files that need indexing; ``self.seen`` holds every discovered file's absolute path."""
        files, report = self._begin(paths)
        self.seen = {f.abs_path for f in files}
        todo = []
        for i, found in enumerate(files):
            result = self.index_file(found, i, len(files), plan_only=True)
            if result.status == "todo":
                todo.append(found)
            else:
                report.results.append(result)
        return report, todo

    def rebuild_graph(self) -> None:
        from vrag.graph_build import rebuild_graph
        from vrag.graph_store import needs_rebuild

        similarity, model = float(self.cfg.graph_merge_similarity), self.embedder.model_id
        for _ in range(3):  # again if another writer (another machine) added extractions meanwhile
            self.store.retry_conflicts("rebuilding the knowledge graph",
                                       lambda: rebuild_graph(self.store, self.embedder.embed, similarity, model))
            if not needs_rebuild(self.store, similarity, model):
                break
        self.graph_changed = False

    def prune(self, roots: list[str], present: set[str]) -> list[FileResult]:
        """Remove videos under ``roots`` whose file no longer exists."""
        out = []
        abs_roots = [os.path.abspath(r) for r in roots]
        for row in self.out.videos():
            path = row["abs_path"]
            inside = any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in abs_roots)
            if inside and path not in present and not os.path.exists(path):
                self.out.delete(row["video_id"])
                out.append(FileResult(row["path"], "removed", "file no longer exists", row["video_id"]))
        return out

    # -- one file ---------------------------------------------------------------------
    def _index_one(self, found: Found, emit: Callable[..., None], plan_only: bool = False) -> FileResult:
        try:
            st = os.stat(found.abs_path)
        except FileNotFoundError:
            raise MediaError(found.path, "file disappeared before it could be read") from None
        want = wanted(self.cfg, found.abs_path, self.stages)
        previous = [self._known[vid] for vid in self._by_path.get(found.abs_path, ())]
        hash_seconds = 0.0
        same = next(
            (r for r in previous if r["size"] == st.st_size and r["mtime_ns"] == st.st_mtime_ns
             and r["status"] != "failed"),
            None,
        )  # same size and modification time: the same bytes, no need to read them again
        if same is None:
            emit("hash", 0.0, float(st.st_size))
            started = time.perf_counter()
            video_id = content_hash(found.abs_path)
            hash_seconds = time.perf_counter() - started
            same = self._known.get(video_id)
            if same is not None and same["status"] == "failed":
                same = None
        else:
            video_id = same["video_id"]
        done = parse_recipe(same["recipe"]) if same is not None else {}
        need = plan(self.stages, want, done)
        if same is not None and not need and same["status"] == "indexed":
            for row in previous:  # an older version of this file whose removal a killed run never did
                if row["video_id"] != video_id:
                    self.out.delete(row["video_id"])
                    self._forget(row["video_id"])
                    self.graph_changed = True
            if same["abs_path"] != found.abs_path:
                if os.path.exists(same["abs_path"]):
                    return FileResult(found.path, "unchanged", f"same content as {same['path']}", video_id)
                # moved or renamed: keep the records, update where it lives
            same = dict(same, path=found.path, abs_path=found.abs_path, size=st.st_size, mtime_ns=st.st_mtime_ns)
            if same != self._known[video_id]:
                self.out.upsert(same)
                self._remember(same)
            return FileResult(found.path, "unchanged", "", video_id, same["duration"], counts=same["counts"])
        if plan_only:
            return FileResult(found.path, "todo", "", video_id)
        emit("probe")
        started = time.perf_counter()
        try:
            video = probe(found.abs_path, given=found.path, video_id=video_id)
            if (video.size, video.mtime_ns) != (st.st_size, st.st_mtime_ns):  # rewritten while it was hashed
                raise MediaError(found.path, _CHANGED)
        except MediaError as exc:
            if not any(r["status"] in ("indexed", "partial") for r in previous):
                self._record_failure(found, st, video_id, _one_line(exc, found.path))
            raise
        probe_seconds = time.perf_counter() - started
        result = self._index_video(video, want, need, same, emit)
        result.timings = {"hash": hash_seconds, "probe": probe_seconds, **result.timings}
        for row in previous:  # the file changed: its old records go only now that the new ones are in
            if row["video_id"] != video.video_id:
                self.out.delete(row["video_id"])
                self._forget(row["video_id"])
        return result

    def _record_failure(self, found: Found, st: os.stat_result, video_id: str, reason: str) -> None:
        """Keep a failed file visible in status (one row per path, the latest failure)."""
        for old in list(self._by_path.get(found.abs_path, ())):
            if old != video_id and self._known[old]["status"] == "failed":
                self.out.delete(old)
                self._forget(old)
        row = {
            "video_id": video_id, "path": found.path, "abs_path": found.abs_path, "size": st.st_size,
            "mtime_ns": st.st_mtime_ns, "duration": 0.0, "fps": 0.0, "width": 0, "height": 0,
            "has_video": False, "has_audio": False, "streams": [], "status": "failed",
            "errors": [reason], "warnings": [], "recipe": {}, "producers": {}, "counts": {},
        }
        self.out.upsert(row)
        self._remember(row)

    def _index_video(self, video: VideoRef, want: dict[str, str], need: list[str], before: dict[str, Any] | None,
                     emit: Callable[..., None]) -> FileResult:
        """Run the ``need`` stages on ``video``; records of the other stages stay as they are."""
        before = before if before is not None and before["video_id"] == video.video_id else None
        row = video_row(video)
        self.out.upsert(dict(before or row, status="indexing"))
        ctx = IndexContext(self.cfg, video, data_dir=self.out.data_dir, progress=lambda st, d, total: emit(st, d, total),
                           stored=lambda m: self.out.stored(video.video_id, [m]), fetch=self.out.fetch)
        extra = helpers(self.stages, need, self.cfg.stages)
        outcome = VideoJob(self.stages, need, extra, ctx).run(lambda: self._abandon_if_changed(video, before, row))
        with ctx.timed("embed"):
            embed_records(self.embedder, [s for s in outcome.records if s.modality not in IMAGE_MODALITIES], emit)
        replaced = [m for st in outcome.ran for m in self.stages[st].writes]
        final = _final_row(self.stages, row, before, outcome, want, need, replaced, self.embedder.model_id)
        image = ctx.backend("image_embed") if set(replaced) & set(IMAGE_MODALITIES) else None
        emit("write", 0.0, float(len(outcome.records)))
        with ctx.timed("write"):
            self.out.write_video(VideoWrite(
                video.video_id, outcome.records, replaced, (self.embedder.model_id, self.embedder.dim),
                (image.model_id, image.dim) if image is not None else None,
                ctx.extraction, final))
        self.graph_changed = self.graph_changed or ctx.extraction is not None
        self._remember(final)
        self.out.done_with(video.video_id)
        return FileResult(video.path, final["status"], "; ".join(ctx.errors or ctx.warnings), video.video_id,
                          video.duration, counts=final["counts"], timings=dict(ctx.timings))

    def _abandon_if_changed(self, video: VideoRef, before: dict[str, Any] | None, row: dict[str, Any]) -> None:
        """If the file was replaced or rewritten while it was read, this run's records may mix two
        contents under the old content's id: write none of them; what was indexed before stays."""
        try:
            st = os.stat(video.abs_path)
            if (st.st_size, st.st_mtime_ns) == (video.size, video.mtime_ns):
                return
        except OSError:
            pass
        if before is not None:
            self.out.upsert(before)  # back to how it was; its records were not touched
        elif any(self._known[v]["status"] in ("indexed", "partial") for v in self._by_path.get(video.abs_path, ())):
            self.out.delete(video.video_id)  # the path keeps its earlier records
        else:
            failed = dict(row, status="failed", errors=[_CHANGED])
            self.out.upsert(failed)
            self._remember(failed)
        raise MediaError(video.path, _CHANGED)


def _final_row(stages: Mapping[str, Any], row: dict[str, Any], before: dict[str, Any] | None, outcome: JobOutcome,
               want: dict[str, str], need: list[str], replaced: list[str], text_model: str) -> dict[str, Any]:
    """The video row after this run: counts, problems, recipe and producers of the stages that ran,
    the earlier ones of the stages that did not."""
    ctx = outcome.ctx
    counts = {m: n for m, n in (before["counts"] if before else {}).items() if m not in replaced}
    for seg in outcome.records:
        counts[seg.modality] = counts.get(seg.modality, 0) + 1
    # problems of stages that did not run this time still stand
    kept = [e for e in (before["errors"] if before else []) if not set(owners(e, stages)) & set(need)]
    warned = [w for w in (before["warnings"] if before else []) if not set(owners(w, stages)) & set(need)]
    errors, warnings = kept + ctx.errors, warned + ctx.warnings
    done = parse_recipe(before["recipe"]) if before else {}
    return dict(
        before or row, **{k: row[k] for k in ("path", "abs_path", "size", "mtime_ns", "duration", "streams")},
        status="partial" if errors else "indexed", errors=errors, warnings=warnings, counts=counts,
        # a stage that reported a problem keeps what it found but is not marked done: the next run retries it
        recipe={**{k: v for k, v in done.items() if k not in need},
                **{st: want[st] for st in outcome.ran if st not in outcome.failed}},
        producers={**(before["producers"] if before else {}), **ctx.producers, "text_embed": text_model},
    )


def _one_line(exc: BaseException, path: str) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, MediaError):
        return exc.reason
    return text.replace(f"{path}: ", "", 1)


class Engine:
    """Where ``vrag index`` runs the stages (the ``engine`` setting); register one with
    ``@register("engine", name)``. It indexes ``paths`` into ``store`` as :class:`Indexer` does."""

    def __init__(self, store: Store, cfg: Config, progress: Callable[[ProgressEvent], None] | None = None):
        self.store, self.cfg, self.progress = store, cfg, progress

    def index(self, paths: Iterable[str | os.PathLike[str]], prune: bool = False) -> IndexReport:
        raise NotImplementedError


@register("engine", "local")
class LocalEngine(Engine):
    """This process, one file at a time."""

    def index(self, paths: Iterable[str | os.PathLike[str]], prune: bool = False) -> IndexReport:
        return Indexer(self.store, self.cfg, self.progress).run(paths, prune=prune)
