"""What an index run reads from and writes to the store: the only place the run touches it.

Every store call of a run goes through :class:`RunStore`, so a change of the store's
interface changes this file only. A video's records are written by
:meth:`RunStore.write_video` in one go, in the kill-safe order: graph extraction, text
records, keyframes (and their thumbnails), then the video row that marks them current.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from .schema import Segment, VideoRef
from .filters import Filter
from .store import FRAMES, MENTIONS, SEGMENTS, VIDEOS, Store

__all__ = ["RunStore", "VideoWrite", "video_row", "IMAGE_MODALITIES"]

#: Record modalities kept with image vectors (the keyframes table); every other is text.
IMAGE_MODALITIES = ("frame",)


@dataclass
class VideoWrite:
    """Everything one video's run writes."""

    video_id: str
    records: list[Segment]
    #: modalities whose stored records this run replaces
    replaced: list[str]
    text_model: tuple[str, int]
    #: (model id, dim) of the image embedder, when keyframes are replaced
    image_model: tuple[str, int] | None
    #: (mentions, relations) of the graph stage, when it ran
    extraction: tuple[list[Any], list[Any]] | None
    #: the final video row (status, counts, recipe...)
    row: dict[str, Any]


class RunStore:
    """The store as an index run sees it: videos, stored records, files, one write per video."""

    def __init__(self, store: Store):
        self.store = store

    @property
    def data_dir(self) -> str:
        return str(self.store.files.local_dir)

    def prepare(self, cfg: Any, text: Any, pin: bool) -> None:
        """Before a run: stored vectors come from the configured models (else: `vrag reembed`),
        (``pin``) the knowledge base is pinned, and on object storage this run's tables exist."""
        self.store.segments.check_model(text.model_id)
        image = None
        if "frame" in cfg.stages:
            from vrag.backends import get_backend

            image = get_backend("image_embed", cfg)
            self.store.frames.check_model(image.model_id)
        if pin:
            self.store.pin_home()
        graph = "graph" in cfg.stages
        wanted = {VIDEOS, SEGMENTS} | ({FRAMES} if image is not None else set()) | ({MENTIONS} if graph else set())
        if not self.store.remote or self.store.has_tables(wanted):
            return  # (checked first: the embedders' sizes may mean loading them)
        self.store.create_tables((text.model_id, text.dim), (image.model_id, image.dim) if image is not None else None,
                                 graph=graph)

    def finish(self, wrote: bool) -> None:
        """After a run: build the indexes (also when a killed run never got to it)."""
        if wrote or self.store.indexes_behind():
            self.store.finish_writes()

    def write_fault(self, exc: Exception) -> Exception | None:
        return self.store.write_fault(exc)

    def videos(self) -> list[dict[str, Any]]:
        return self.store.videos.all()

    def upsert(self, row: dict[str, Any]) -> None:
        self.store.videos.upsert(row)

    def delete(self, video_id: str) -> None:
        self.store.delete_video(video_id)

    def stored(self, video_id: str, modalities: Sequence[str]) -> list[Segment]:
        """The stored records of ``video_id`` of ``modalities``."""
        out: list[Segment] = []
        for table, kinds in ((self.store.segments, [m for m in modalities if m not in IMAGE_MODALITIES]),
                             (self.store.frames, [m for m in modalities if m in IMAGE_MODALITIES])):
            if kinds:
                out += table.read(Filter.of(video_id, kinds))
        return out

    def fetch(self, paths: Iterable[str]) -> None:
        self.store.files.fetch(list(paths))

    def done_with(self, video_id: str) -> None:
        self.store.files.done_with(video_id)

    def write_video(self, w: VideoWrite) -> None:
        """One video's records, then its row (which makes them current)."""
        if w.extraction is not None:
            self.store.graph.replace_extraction(w.video_id, *w.extraction)
        texts = [s for s in w.records if s.modality not in IMAGE_MODALITIES]
        frames = [s for s in w.records if s.modality in IMAGE_MODALITIES]
        model, dim = w.text_model
        self.store.segments.replace(
            w.video_id, texts, model, dim, modalities=[m for m in w.replaced if m not in IMAGE_MODALITIES])
        image = [m for m in w.replaced if m in IMAGE_MODALITIES]
        if image and w.image_model is not None:
            self.store.frames.replace(w.video_id, frames, *w.image_model, modalities=image)
            self.store.files.publish(w.video_id)  # object storage: upload the new thumbnails
        self.upsert(w.row)


def video_row(video: VideoRef) -> dict[str, Any]:
    """A new video row (status ``indexing``, nothing done yet)."""
    return {
        "video_id": video.video_id, "path": video.path, "abs_path": video.abs_path, "size": video.size,
        "mtime_ns": video.mtime_ns, "duration": video.duration, "fps": video.fps, "width": video.width,
        "height": video.height, "has_video": video.has_video, "has_audio": video.has_audio,
        "streams": video.streams, "status": "indexing", "errors": [], "warnings": [], "recipe": {},
        "producers": {}, "counts": {},
    }
