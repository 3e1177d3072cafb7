"""Index media files into a store: skip what is unchanged, run the indexers, embed, write.

One file at a time; each file's records are committed in one write, so an
interrupted run loses at most the file in flight. Per-file problems are reported
and the batch goes on; configuration problems stop the run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .backends.text_embed import text_embedder
from .config import Config
from .discover import Found, discover
from .errors import ConfigError, MediaError, MissingDependencyError, ModelMismatchError, VragError
from .media.frames import FrameStream
from .media.probe import content_hash, probe
from .schema import Segment, VideoRef
from .store import Store

__all__ = ["ProgressEvent", "FileResult", "IndexReport", "Indexer", "recipe"]

log = logging.getLogger("vrag.pipeline")

#: Settings whose change means a video must be indexed again.
_RECIPE_SETTINGS = (
    "stages", "text_embedder", "asr", "asr_model", "asr_language", "asr_vad", "asr_beam_size", "asr_batch_size",
    "use_subtitles", "ocr", "ocr_interval", "ocr_min_confidence", "ocr_change_threshold",
    "ocr_max_side", "scene_threshold", "scene_fps", "scene_min_seconds", "window_seconds",
    "chapter_seconds",
)
#: Errors that are about the setup, not one file: they stop the whole run.
_FATAL = (ConfigError, MissingDependencyError, ModelMismatchError)


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


def recipe(cfg: Config, sidecar: Path | None) -> str:
    """Fingerprint of what would produce a video's records now."""
    from vrag.indexers import build_indexers

    parts: dict[str, Any] = {k: cfg[k] for k in _RECIPE_SETTINGS}
    parts["indexers"] = [f"{ix.name}-{ix.version}" for ix in build_indexers(cfg.stages)]
    if sidecar is not None and cfg.use_subtitles:
        st = sidecar.stat()
        parts["sidecar"] = [sidecar.name, st.st_size, st.st_mtime_ns]
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


class Indexer:
    """Runs an index job against one store with one config."""

    def __init__(self, store: Store, cfg: Config, progress: Callable[[ProgressEvent], None] | None = None):
        self.store = store
        self.cfg = cfg
        self.progress = progress or (lambda event: None)
        self._embedder: Any = None
        self._known: dict[str, dict[str, Any]] = {}
        self._by_path: dict[str, list[str]] = {}

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
        self.store.check_text_model(self.embedder.model_id)
        files, skipped = discover(paths)
        report = IndexReport([FileResult(s.path, "failed", s.reason) for s in skipped])
        # one read of the videos table per run: re-runs over big folders do no query per file
        self._known, self._by_path = {}, {}
        for row in self.store.videos():
            self._remember(row)
        wrote = False
        for i, found in enumerate(files):
            emit = lambda stage, done=0.0, total=0.0, _f=found, _i=i: self.progress(  # noqa: E731
                ProgressEvent(_f.path, _i, len(files), stage, done, total)
            )
            emit("start")
            started = time.monotonic()
            try:
                result = self._index_one(found, emit)
            except _FATAL:
                raise
            except VragError as exc:
                result = FileResult(found.path, "failed", _one_line(exc, found.path))
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # a bug or an unexpected library error: report, go on
                log.exception("unexpected error while indexing %s", found.path)
                result = FileResult(found.path, "failed", f"internal error: {type(exc).__name__}: {exc}")
            result.seconds = time.monotonic() - started
            wrote = wrote or result.status in ("indexed", "partial")
            report.results.append(result)
            emit("done")
        if prune:
            for removed in self.prune(paths, {f.abs_path for f in files}):
                report.results.append(removed)
                wrote = True
        if wrote:
            self.store.finish_writes()
        return report

    def prune(self, roots: list[str], present: set[str]) -> list[FileResult]:
        """Remove videos under ``roots`` whose file no longer exists."""
        out = []
        abs_roots = [os.path.abspath(r) for r in roots]
        for row in self.store.videos():
            path = row["abs_path"]
            inside = any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in abs_roots)
            if inside and path not in present and not os.path.exists(path):
                self.store.delete_video(row["video_id"])
                out.append(FileResult(row["path"], "removed", "file no longer exists", row["video_id"]))
        return out

    # -- one file ---------------------------------------------------------------------
    def _index_one(self, found: Found, emit: Callable[..., None]) -> FileResult:
        from vrag.indexers.asr import find_sidecar

        try:
            st = os.stat(found.abs_path)
        except FileNotFoundError:
            raise MediaError(found.path, "file disappeared before it could be read") from None
        sidecar = find_sidecar(found.abs_path) if self.cfg.use_subtitles else None
        want = recipe(self.cfg, sidecar)
        previous = [self._known[vid] for vid in self._by_path.get(found.abs_path, ())]
        for row in previous:
            if (
                row["status"] == "indexed"
                and row["size"] == st.st_size
                and row["mtime_ns"] == st.st_mtime_ns
                and row["recipe"] == want
            ):
                return FileResult(found.path, "unchanged", "", row["video_id"], row["duration"], counts=row["counts"])
        emit("hash", 0.0, float(st.st_size))
        started = time.perf_counter()
        video_id = content_hash(found.abs_path)
        hash_seconds = time.perf_counter() - started
        same = self._known.get(video_id)
        if same is not None and same["status"] == "indexed" and same["recipe"] == want:
            if same["abs_path"] != found.abs_path and os.path.exists(same["abs_path"]):
                return FileResult(found.path, "unchanged", f"same content as {same['path']}", video_id)
            # moved, renamed or only touched: keep the records, update where it lives
            same = dict(same, path=found.path, abs_path=found.abs_path, size=st.st_size, mtime_ns=st.st_mtime_ns)
            self.store.upsert_video(same)
            self._remember(same)
            return FileResult(found.path, "unchanged", "", video_id, same["duration"], counts=same["counts"])
        emit("probe")
        started = time.perf_counter()
        try:
            video = probe(found.abs_path, given=found.path, video_id=video_id)
        except MediaError as exc:
            if not any(r["status"] in ("indexed", "partial") for r in previous):
                self._record_failure(found, st, video_id, want, _one_line(exc, found.path))
            raise
        probe_seconds = time.perf_counter() - started
        result = self._index_video(video, want, emit)
        result.timings = {"hash": hash_seconds, "probe": probe_seconds, **result.timings}
        for row in previous:  # the file changed: its old records go only now that the new ones are in
            if row["video_id"] != video.video_id:
                self.store.delete_video(row["video_id"])
                self._forget(row["video_id"])
        return result

    def _record_failure(self, found: Found, st: os.stat_result, video_id: str, want: str, reason: str) -> None:
        """Keep a failed file visible in status (one row per path, the latest failure)."""
        for old in list(self._by_path.get(found.abs_path, ())):
            if old != video_id and self._known[old]["status"] == "failed":
                self.store.delete_video(old)
                self._forget(old)
        row = {
            "video_id": video_id, "path": found.path, "abs_path": found.abs_path, "size": st.st_size,
            "mtime_ns": st.st_mtime_ns, "duration": 0.0, "fps": 0.0, "width": 0, "height": 0,
            "has_video": False, "has_audio": False, "streams": [], "status": "failed",
            "errors": [reason], "recipe": want, "producers": {}, "counts": {},
        }
        self.store.upsert_video(row)
        self._remember(row)

    def _index_video(self, video: VideoRef, want: str, emit: Callable[..., None]) -> FileResult:
        from vrag.indexers import IndexContext, build_indexers
        from vrag.indexers.granularity import units

        row = _video_row(video, want)
        self.store.upsert_video(dict(row, status="indexing"))
        ctx = IndexContext(self.cfg, video, progress=lambda stage, done, total: emit(stage, done, total))
        indexers = build_indexers(self.cfg.stages)
        errors = ctx.errors
        live = []
        for ix in indexers:
            try:
                if hasattr(ix, "setup"):
                    ix.setup(ctx)
                live.append(ix)
            except _FATAL:
                raise
            except VragError as exc:
                errors.append(f"{ix.name}: {exc}")
        with ctx.timed("frames"):
            self._frame_pass(video, ctx, [ix for ix in live if hasattr(ix, "on_frame")], errors)
        fine: list[Segment] = []
        for ix in live:
            if any(e.startswith(f"{ix.name}:") for e in errors):
                continue
            try:
                with ctx.timed(ix.name):
                    fine.extend(ix.index(video, ctx))
            except _FATAL:
                raise
            except VragError as exc:
                errors.append(f"{ix.name}: {exc}")
        shots = ctx.shots if "shot" in self.cfg.stages else []
        segments = fine + units(
            video, shots, fine, float(self.cfg.window_seconds), float(self.cfg.chapter_seconds),
            ctx.producers.get("shot"),
        )
        with ctx.timed("embed"):
            self._embed(segments, emit)
        emit("write", 0.0, float(len(segments)))
        model = self.embedder
        with ctx.timed("write"):
            self.store.replace_segments(video.video_id, segments, model.model_id, model.dim)
        counts: dict[str, int] = {}
        for seg in segments:
            counts[seg.modality] = counts.get(seg.modality, 0) + 1
        status = "partial" if errors else "indexed"
        final = dict(row, status=status, errors=errors + ctx.warnings, counts=counts,
                     producers=dict(ctx.producers, text_embed=model.model_id))
        self.store.upsert_video(final)
        self._remember(final)
        reason = "; ".join(errors) if errors else "; ".join(ctx.warnings)
        timings = dict(ctx.timings)
        timings["frames"] = timings.get("frames", 0.0) - timings.get("ocr", 0.0)  # OCR runs inside the frame pass
        timings.pop("shots", None)  # finishing the shot list is instant; detection is in "frames"
        return FileResult(video.path, status, reason, video.video_id, video.duration, counts=counts, timings=timings)

    def _frame_pass(self, video: VideoRef, ctx: Any, consumers: list[Any], errors: list[str]) -> None:
        if not consumers:
            return
        if not video.has_video:
            return
        stream = FrameStream(video.abs_path, float(self.cfg.scene_fps))
        active = list(consumers)
        for frame in stream:
            for ix in list(active):
                try:
                    ix.on_frame(frame, ctx)
                except _FATAL:
                    raise
                except VragError as exc:
                    errors.append(f"{ix.name}: {exc}")
                    active.remove(ix)
            ctx.report("frames", frame.t)
        if video.duration <= 0 and stream.last_time > 0:
            video.duration = stream.last_time
        if stream.error:
            ctx.fail("frames", stream.error)
        else:
            ctx.check_complete("frames", stream.last_time + 1.0 / max(video.fps, 1.0))

    def _embed(self, segments: list[Segment], emit: Callable[..., None]) -> None:
        todo = [s for s in segments if s.text]
        batch = 256
        for i in range(0, len(todo), batch):
            emit("embed", float(i), float(len(todo)))
            part = todo[i : i + batch]
            vectors = self.embedder.embed([s.text for s in part])
            for seg, vec in zip(part, vectors):
                seg.vector = vec.tolist()
        emit("embed", float(len(todo)), float(len(todo)))


def _video_row(video: VideoRef, want: str) -> dict[str, Any]:
    return {
        "video_id": video.video_id, "path": video.path, "abs_path": video.abs_path, "size": video.size,
        "mtime_ns": video.mtime_ns, "duration": video.duration, "fps": video.fps, "width": video.width,
        "height": video.height, "has_video": video.has_video, "has_audio": video.has_audio,
        "streams": video.streams, "status": "indexing", "errors": [], "recipe": want,
        "producers": {}, "counts": {},
    }


def _one_line(exc: BaseException, path: str) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, MediaError):
        return exc.reason
    return text.replace(f"{path}: ", "", 1)
