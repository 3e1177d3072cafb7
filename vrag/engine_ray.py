"""``vrag index --engine ray``: the same indexers, distributed over a Ray cluster with Ray Data.

How the work is split:

- The driver (where ``vrag index`` runs) discovers the files, skips the unchanged ones exactly as
  the local path does (:meth:`Indexer.plan`: size + mtime, else the content hash, and the stage
  recipe), and holds the knowledge base's write lock.
- Ray Data streams the remaining files to a pool of actors (``--workers``; GPU actors with
  ``--gpus``). Each actor loads the models once in ``__init__`` and indexes one file at a time with
  the local :class:`Indexer` into a private scratch knowledge base, then ships that video's rows
  (text records with vectors, keyframes, graph extraction, the video row, keyframe thumbnails)
  back as Arrow IPC.
- The driver writes each returned video into the shared knowledge base with the same upserts
  as the local path (``merge_insert`` on content-hash ids, one commit per table per video), so
  reruns are idempotent and a crash loses at most the videos in flight; then it builds the
  indexes and the knowledge graph once, as the local path does at the end of a run.

The decode/ASR/OCR/embedding work (>99% of indexing time, BENCHMARKS.md) is distributed; commits
go through one writer, which is what keeps upserts and the graph consistent without commit
conflicts. Media paths must be readable by the workers under the same path (a shared mount).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

from .config import Config
from .errors import VragError
from .pipeline import Engine, FileResult, IndexReport, Indexer, ProgressEvent
from .registry import register

__all__ = ["index_with_ray", "VideoIndexActor", "RayEngine"]


def _ipc(table: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(data: bytes) -> Any:
    import pyarrow as pa

    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


class VideoIndexActor:
    """A Ray actor: models load once per actor; each call indexes one file into scratch space and
    returns its rows. Also usable without Ray (the tests compare both paths)."""

    def __init__(self, settings: dict[str, Any], device: str | None = None):
        values = dict(settings)
        if device:
            values["device"] = device
        self.settings = values

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {k: [] for k in ("path", "result", "segments", "frames", "mentions", "video",
                                                   "thumbs")}
        for path, abs_path in zip(batch["path"], batch["abs_path"]):
            row = self.index_one(str(path), str(abs_path))
            for key in out:
                out[key].append(row[key])
        return out

    def index_one(self, path: str, abs_path: str) -> dict[str, Any]:
        from vrag.discover import Found
        from vrag.store import Store

        scratch = Path(tempfile.mkdtemp(prefix="vrag-ray-"))
        try:
            cfg = Config(dict(self.settings, db=str(scratch)), {k: "driver" for k in self.settings})
            store = Store(scratch)
            result = Indexer(store, cfg).index_file(Found(path, abs_path))
            tables = {name: _ipc(data) if data is not None else b"" for name, data in (
                ("segments", store.segments.arrow()), ("frames", store.frames.arrow()),
                ("mentions", store.graph.extraction_arrow()), ("video", store.videos.arrow()))}
            thumbs = []
            for f in sorted((scratch / "thumbs").rglob("*")) if (scratch / "thumbs").is_dir() else []:
                if f.is_file():
                    thumbs.append([str(f.relative_to(scratch)), f.read_bytes()])
            return {"path": path, "result": json.dumps(vars(result)), **tables,
                    "thumbs": json.dumps([[rel, data.hex()] for rel, data in thumbs])}
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def import_video(store: Any, row: dict[str, Any]) -> FileResult:
    """Write one video's rows, as returned by :class:`VideoIndexActor`, into ``store``."""
    result = FileResult(**json.loads(row["result"]))
    videos = _from_ipc(row["video"]).to_pylist() if row["video"] else []
    if not videos:
        return result  # failed before anything was recorded (e.g. the file vanished)
    video = videos[0]
    vid = video["video_id"]
    earlier = store.videos.at(video["abs_path"])
    if result.status == "failed" and any(o["status"] in ("indexed", "partial") for o in earlier):
        return result  # as the local path: a file that fails now keeps what was indexed before
    if row["segments"]:
        store.segments.import_rows(vid, _from_ipc(row["segments"]))
    if row["frames"]:
        store.frames.import_rows(vid, _from_ipc(row["frames"]))
    if row["mentions"]:
        store.graph.import_extraction(vid, _from_ipc(row["mentions"]))
    if row["frames"]:  # the keyframes were redone: so are their thumbnails
        store.files.replace_thumbs(vid, {rel.rsplit("/", 1)[-1]: bytes.fromhex(data)
                                         for rel, data in json.loads(row["thumbs"]) if rel.startswith(f"thumbs/{vid}/")})
    for old in earlier:  # the file changed: its old records go only now
        if old["video_id"] != vid:
            store.delete_video(old["video_id"])
    store.videos.upsert(video)
    return result


def index_with_ray(
    store: Any,
    cfg: Config,
    paths: Iterable[str | os.PathLike[str]],
    address: str | None = None,
    workers: int = 2,
    gpus: float = 0.0,
    progress: Callable[[ProgressEvent], None] | None = None,
    prune: bool = False,
) -> IndexReport:
    """Index ``paths`` into ``store`` with a pool of Ray actors; see the module docstring."""
    from .registry import require

    if workers < 1:
        raise VragError(f"--workers {workers} (ray_workers): at least one worker")
    ray = require("ray", "Distributed indexing (--engine ray)", "ray")
    indexer = Indexer(store, cfg, progress)
    report, todo = indexer.plan_run([os.fspath(p) for p in paths])
    graph = "graph" in cfg.stages
    if todo:
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     **({} if address else {"num_cpus": max(workers, os.cpu_count() or 1)}))
        settings = {k: v for k, v in cfg.items() if k != "db"}
        per_worker_gpu = gpus / workers if gpus else 0.0
        ds = ray.data.from_items([{"path": f.path, "abs_path": f.abs_path} for f in todo],
                                 override_num_blocks=len(todo))
        ds = ds.map_batches(
            VideoIndexActor, batch_size=1, concurrency=workers, num_gpus=per_worker_gpu or None,
            fn_constructor_kwargs={"settings": settings, "device": "cuda" if gpus else None},
        )
        for n, row in enumerate(ds.iter_rows()):
            result = import_video(store, row)
            report.results.append(result)
            if progress is not None:
                progress(ProgressEvent(result.path, n, len(todo), "done"))
    wrote = any(r.status in ("indexed", "partial") for r in report.results)
    if prune:
        for removed in indexer.prune([os.fspath(p) for p in paths], {f.abs_path for f in todo} | indexer.seen):
            report.results.append(removed)
            wrote = True
    if wrote or store.indexes_behind():
        store.finish_writes()
    if graph:
        from vrag.graph_store import needs_rebuild

        if needs_rebuild(store, float(cfg.graph_merge_similarity), indexer.embedder.model_id):
            indexer.rebuild_graph()
    return report


@register("engine", "ray")
class RayEngine(Engine):
    """A Ray cluster (``ray_address``, ``ray_workers``, ``ray_gpus``); see the module docstring."""

    def index(self, paths: Iterable[str | os.PathLike[str]], prune: bool = False) -> IndexReport:
        c = self.cfg
        return index_with_ray(self.store, c, paths, c.ray_address or None, int(c.ray_workers), float(c.ray_gpus),
                              self.progress, prune)
