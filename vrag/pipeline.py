"""Index media files into a store: skip what is unchanged, run the indexers, embed, write.

One file at a time; each file's records are committed in one write, so an
interrupted run loses at most the file in flight. Per-file problems are reported
and the batch goes on; configuration problems stop the run.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .backends.text_embed import text_embedder
from .config import Config
from .discover import Found, discover
from .errors import (
    ConfigError, MediaError, MissingDependencyError, ModelMismatchError, StoreUnreachableError, StoreWriteError, VragError,
)
from .media.frames import FrameStream
from .media.probe import content_hash, probe
from .schema import Segment, VideoRef
from . import stages
from .filters import Filter
from .store import FRAMES, SEGMENTS, Store

__all__ = ["ProgressEvent", "FileResult", "IndexReport", "Indexer"]

log = logging.getLogger("vrag.pipeline")

#: Why a file's records were not written: it changed between the first look and the write.
_CHANGED = "file changed while it was being indexed; nothing was written (index it again)"

#: Errors that are about the setup, not one file: they stop the whole run.
_FATAL = (ConfigError, MissingDependencyError, ModelMismatchError, StoreWriteError, StoreUnreachableError)


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
        if wrote or self.store.indexes_behind():  # also when a killed run never got to it
            self.store.finish_writes()
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
        self._check_models()
        if pin:
            self.store.pin_home()
        self._create_tables()
        files, skipped = discover(paths)
        report = IndexReport([FileResult(s.path, "failed", s.reason) for s in skipped])
        self._known, self._by_path = {}, {}
        for row in self.store.videos.all():
            self._remember(row)
        return files, report

    def _check_models(self) -> None:
        """Stored vectors must come from the configured models (else: `vrag reembed`)."""
        self.store.segments.check_model(self.embedder.model_id)
        if "frame" in self.cfg.stages:
            from vrag.backends import get_backend

            self.store.frames.check_model(get_backend("image_embed", self.cfg).model_id)

    def _create_tables(self) -> None:
        """Object storage: this run's tables exist before it writes a record (see Store.create_tables)."""
        wanted = {"videos", SEGMENTS} | ({FRAMES} if "frame" in self.cfg.stages else set()) | (
            {"mentions"} if "graph" in self.cfg.stages else set())
        if not self.store.remote or self.store.has_tables(wanted):
            return  # (checked first: the embedders' sizes may mean loading them)
        image = None
        if "frame" in self.cfg.stages:
            from vrag.backends import get_backend

            backend = get_backend("image_embed", self.cfg)
            image = (backend.model_id, backend.dim)
        self.store.create_tables((self.embedder.model_id, self.embedder.dim), image, graph="graph" in self.cfg.stages)

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
            fault = self.store.write_fault(exc)  # e.g. no space left for a keyframe thumbnail
            if fault is not None:
                raise fault from exc
            log.exception("unexpected error while indexing %s", found.path)
            result = FileResult(found.path, "failed", f"internal error: {type(exc).__name__}: {exc}")
        result.seconds = time.monotonic() - started
        if result.status == "failed" and result.video_id:
            self.store.files.done_with(result.video_id)  # object storage: its thumbnails in flight go
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
        for row in self.store.videos.all():
            path = row["abs_path"]
            inside = any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in abs_roots)
            if inside and path not in present and not os.path.exists(path):
                self.store.delete_video(row["video_id"])
                out.append(FileResult(row["path"], "removed", "file no longer exists", row["video_id"]))
        return out

    # -- one file ---------------------------------------------------------------------
    def _index_one(self, found: Found, emit: Callable[..., None], plan_only: bool = False) -> FileResult:
        from vrag.indexers.asr import find_sidecar

        try:
            st = os.stat(found.abs_path)
        except FileNotFoundError:
            raise MediaError(found.path, "file disappeared before it could be read") from None
        sidecar = find_sidecar(found.abs_path) if self.cfg.use_subtitles else None
        want = stages.wanted(self.cfg, sidecar)
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
        done = stages.parse_recipe(same["recipe"]) if same is not None else {}
        need = stages.todo(want, done)
        if same is not None and not need and same["status"] == "indexed":
            for row in previous:  # an older version of this file whose removal a killed run never did
                if row["video_id"] != video_id:
                    self.store.delete_video(row["video_id"])
                    self._forget(row["video_id"])
                    self.graph_changed = True
            if same["abs_path"] != found.abs_path:
                if os.path.exists(same["abs_path"]):
                    return FileResult(found.path, "unchanged", f"same content as {same['path']}", video_id)
                # moved or renamed: keep the records, update where it lives
            same = dict(same, path=found.path, abs_path=found.abs_path, size=st.st_size, mtime_ns=st.st_mtime_ns)
            if same != self._known[video_id]:
                self.store.videos.upsert(same)
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
                self.store.delete_video(row["video_id"])
                self._forget(row["video_id"])
        return result

    def _record_failure(self, found: Found, st: os.stat_result, video_id: str, reason: str) -> None:
        """Keep a failed file visible in status (one row per path, the latest failure)."""
        for old in list(self._by_path.get(found.abs_path, ())):
            if old != video_id and self._known[old]["status"] == "failed":
                self.store.delete_video(old)
                self._forget(old)
        row = {
            "video_id": video_id, "path": found.path, "abs_path": found.abs_path, "size": st.st_size,
            "mtime_ns": st.st_mtime_ns, "duration": 0.0, "fps": 0.0, "width": 0, "height": 0,
            "has_video": False, "has_audio": False, "streams": [], "status": "failed",
            "errors": [reason], "warnings": [], "recipe": {}, "producers": {}, "counts": {},
        }
        self.store.videos.upsert(row)
        self._remember(row)

    def _index_video(
        self,
        video: VideoRef,
        want: dict[str, str],
        need: list[str],
        before: dict[str, Any] | None,
        emit: Callable[..., None],
    ) -> FileResult:
        """Run the ``need`` stages on ``video``; records of the other stages stay as they are."""
        from vrag.indexers import IndexContext, build_indexers

        before = before if before is not None and before["video_id"] == video.video_id else None
        done = stages.parse_recipe(before["recipe"]) if before else {}
        row = _video_row(video)
        self.store.videos.upsert(dict(before or row, status="indexing"))
        ctx = IndexContext(
            self.cfg, video, data_dir=str(self.store.files.local_dir), progress=lambda stage, d, total: emit(stage, d, total)
        )
        live = []
        crashed: set[str] = set()  # stages that raised: they produced nothing, their old records stay
        # keyframes need this run's shot boundaries even when the shot records are up to date
        helpers = ["shot"] if "frame" in need and "shot" not in need and "shot" in self.cfg.stages else []
        for ix in build_indexers(list(need) + helpers):
            try:
                if hasattr(ix, "setup"):
                    ix.setup(ctx)
                live.append(ix)
            except _FATAL:
                raise
            except VragError as exc:
                ctx.fail(ix.name, str(exc))
                crashed.add(ix.modality)
        with ctx.timed("frames"):
            crashed |= self._frame_pass(video, ctx, [ix for ix in live if hasattr(ix, "on_frame")])
        new: list[Segment] = []
        for ix in live:
            if ix.modality in crashed:
                continue
            try:
                with ctx.timed(ix.name):
                    new.extend(ix.index(video, ctx))
            except _FATAL:
                raise
            except VragError as exc:
                ctx.fail(ix.name, str(exc))
                crashed.add(ix.modality)
                new = [seg for seg in new if seg.modality != ix.modality]
        self._abandon_if_changed(video, before, row)  # every read of the file is done: did it change?
        # a stage that reported a problem (e.g. the file ends early) keeps what it found but is
        # not marked done, so the next run tries it again
        failed = crashed | {st for e in ctx.errors for st in stages.owner(e)}
        ran = [st for st in need if st not in crashed]
        if "units" in ran:
            new += self._units(video, ctx, new, ran)
        if "caption" in ran:
            new += self._captions(video, ctx, new, ran)
            if "caption" in ctx.failed_stages():
                ran.remove("caption")  # nothing to replace: earlier captions stay until a run succeeds
        if "graph" in ran:
            self._extract_graph(video, ctx, new, ran)
        frames = [seg for seg in new if seg.modality == "frame"]
        texts = [seg for seg in new if seg.modality != "frame"]
        with ctx.timed("embed"):
            self._embed(texts, emit)
        replaced = [m for st in ran for m in stages.WRITES[st]]
        emit("write", 0.0, float(len(new)))
        model = self.embedder
        with ctx.timed("write"):
            self.store.segments.replace(
                video.video_id, texts, model.model_id, model.dim, modalities=[m for m in replaced if m != "frame"]
            )
            if "frame" in replaced:
                image = ctx.backend("image_embed")
                self.store.frames.replace(video.video_id, frames, image.model_id, image.dim, modalities=["frame"])
                self.store.files.publish(video.video_id)  # object storage: upload the new thumbnails
        counts = {m: n for m, n in (before["counts"] if before else {}).items() if m not in replaced}
        for seg in new:
            counts[seg.modality] = counts.get(seg.modality, 0) + 1
        # problems of stages that did not run this time still stand
        kept = [e for e in (before["errors"] if before else []) if not set(stages.owner(e)) & set(need)]
        warned = [w for w in (before["warnings"] if before else []) if not set(stages.owner(w)) & set(need)]
        errors, warnings = kept + ctx.errors, warned + ctx.warnings
        status = "partial" if errors else "indexed"
        final = dict(
            before or row, **{k: row[k] for k in ("path", "abs_path", "size", "mtime_ns", "duration", "streams")},
            status=status, errors=errors, warnings=warnings, counts=counts,
            recipe={**{k: v for k, v in done.items() if k not in need}, **{st: want[st] for st in ran if st not in failed}},
            producers={**(before["producers"] if before else {}), **ctx.producers, "text_embed": model.model_id},
        )
        self.store.videos.upsert(final)
        self._remember(final)
        self.store.files.done_with(video.video_id)
        timings = dict(ctx.timings)
        # OCR and keyframe embedding run inside the frame pass: "frames" is decoding + shot detection
        timings["frames"] = max(0.0, timings.get("frames", 0.0) - timings.get("ocr", 0.0) - timings.get("frame", 0.0))
        timings.pop("shots", None)  # finishing the shot list is instant; detection is in "frames"
        return FileResult(
            video.path, status, "; ".join(ctx.errors or ctx.warnings), video.video_id, video.duration,
            counts=counts, timings=timings,
        )

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
            self.store.videos.upsert(before)  # back to how it was; its records were not touched
        elif any(self._known[v]["status"] in ("indexed", "partial") for v in self._by_path.get(video.abs_path, ())):
            self.store.delete_video(video.video_id)  # the path keeps its earlier records
        else:
            failed = dict(row, status="failed", errors=[_CHANGED])
            self.store.videos.upsert(failed)
            self._remember(failed)
        raise MediaError(video.path, _CHANGED)

    def _captions(self, video: VideoRef, ctx: Any, new: list[Segment], ran: list[str]) -> list[Segment]:
        from vrag.backends import get_backend

        captioner = get_backend("captioner", self.cfg)
        current = {m: self._current(video, m, new, ran) for m in ("frame", "asr", "ocr")}
        self.store.files.fetch([str(kf.meta["thumb"]) for kf in current["frame"] if kf.meta.get("thumb")])
        try:
            with ctx.timed("caption"):
                out = captioner.caption(video, current["frame"], current["asr"], current["ocr"], ctx.data_dir)
        except _FATAL:
            raise
        except VragError as exc:
            ctx.fail("caption", str(exc))
            return []
        ctx.producers["caption"] = captioner.producer
        return out

    def _extract_graph(self, video: VideoRef, ctx: Any, new: list[Segment], ran: list[str]) -> None:
        """Entities and relations of this video's text; the graph itself is rebuilt after the run."""
        from vrag.indexers.graph_extract import PRODUCER, extract

        texts: list[tuple[str, str]] = []
        for seg in self._current(video, "asr", new, ran):
            texts.append((seg.segment_id, seg.text))
        for seg in self._current(video, "ocr", new, ran):  # each screen line is its own phrase
            texts += [(seg.segment_id, line) for line in seg.text.splitlines() if line.strip()]
        for seg in self._current(video, "caption", new, ran):
            if seg.producer.startswith("vlm:"):  # structured captions only repeat speech and screen text
                texts.append((seg.segment_id, seg.text))
        producer = PRODUCER
        try:
            with ctx.timed("graph"):
                if self.cfg.graph_extractor == "llm":
                    from vrag.indexers.graph_llm import LLMGraphExtractor

                    llm = LLMGraphExtractor(self.cfg)
                    producer = llm.producer
                    mentions, relations, notes = llm.extract(texts, self.store.files.local_dir / "cache")
                    for note in notes:
                        ctx.warn("graph", note)
                else:
                    mentions, relations = extract(texts)
        except _FATAL:
            raise
        except VragError as exc:
            ctx.fail("graph", str(exc))
            ran.remove("graph")
            return
        self.store.graph.replace_extraction(video.video_id, mentions, relations)
        ctx.producers["graph"] = producer
        self.graph_changed = True

    def _current(self, video: VideoRef, modality: str, new: list[Segment], ran: list[str]) -> list[Segment]:
        """The records of ``modality`` as they stand after this run: fresh if its stage ran, else stored."""
        if modality in ran:
            return [s for s in new if s.modality == modality]
        table = self.store.frames if modality == "frame" else self.store.segments
        return table.read(Filter.of(video.video_id, modality))

    def _units(self, video: VideoRef, ctx: Any, new: list[Segment], ran: list[str]) -> list[Segment]:
        """Shot/window/chapter records from this run's speech and screen text plus the stored rest."""
        from vrag.indexers.granularity import units

        stored_kinds = [m for m in ("asr", "ocr", "shot") if m not in ran]
        stored = self.store.segments.read(Filter.of(video.video_id, stored_kinds)) if stored_kinds else []
        fine = [s for s in new + stored if s.modality in ("asr", "ocr")]
        shots = ctx.shots if "shot" in ran else sorted((s.start, s.end) for s in stored if s.modality == "shot")
        producer = ctx.producers.get("shot") or next((s.producer for s in stored if s.modality == "shot"), None)
        return units(video, shots, fine, float(self.cfg.window_seconds), float(self.cfg.chapter_seconds), producer)

    def _frame_pass(self, video: VideoRef, ctx: Any, consumers: list[Any]) -> set[str]:
        """Decode the video once, handing frames to ``consumers``; returns the stages that raised."""
        crashed: set[str] = set()
        if not consumers or not video.has_video:
            return crashed
        stream = FrameStream(video.abs_path, float(self.cfg.scene_fps))
        active = list(consumers)
        for frame in stream:
            for ix in list(active):
                try:
                    ix.on_frame(frame, ctx)
                except _FATAL:
                    raise
                except VragError as exc:
                    ctx.fail(ix.name, str(exc))
                    crashed.add(ix.modality)
                    active.remove(ix)
            ctx.report("frames", frame.t)
        if video.duration <= 0 and stream.last_time > 0:
            video.duration = stream.last_time
        if stream.error:
            ctx.fail("frames", stream.error)
        else:
            ctx.check_complete("frames", stream.last_time + 1.0 / max(video.fps, 1.0))
        return crashed

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


def _video_row(video: VideoRef) -> dict[str, Any]:
    return {
        "video_id": video.video_id, "path": video.path, "abs_path": video.abs_path, "size": video.size,
        "mtime_ns": video.mtime_ns, "duration": video.duration, "fps": video.fps, "width": video.width,
        "height": video.height, "has_video": video.has_video, "has_audio": video.has_audio,
        "streams": video.streams, "status": "indexing", "errors": [], "warnings": [], "recipe": {},
        "producers": {}, "counts": {},
    }


def _one_line(exc: BaseException, path: str) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, MediaError):
        return exc.reason
    return text.replace(f"{path}: ", "", 1)
