"""Keyframes: a few representative frames per shot, embedded for visual search.

Within a shot a frame is considered every ``keyframe_interval`` seconds (and at the
shot's first frame). If its thumbnail has not changed since the last keyframe it is
skipped without running the model; otherwise it is embedded and kept only if it is
not a near-duplicate (cosine >= ``keyframe_similarity``) of a keyframe already kept
for the shot. A static slide yields one keyframe, a fast montage several. Each
keyframe gets a small JPEG thumbnail under the knowledge-base directory.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from vrag.media.frames import SampledFrame, changed_fraction
from vrag.schema import Segment, VideoRef

from vrag.registry import register

from .base import IndexContext, Stage

__all__ = ["KeyframeStage", "THUMBS_DIR"]

THUMBS_DIR = "thumbs"
#: Fraction of thumbnail pixels that must change since the shot's last keyframe before a frame is
#: even embedded: a moving speaker inset (~1%) is not a new view, a slide change (5%+) may be.
_NEW_VIEW = 0.02


@dataclass
class _Keyframe:
    t: float
    shot: int
    vector: Any
    tags: list[tuple[str, float]]
    thumb: str
    classes: list[list[float]] = field(default_factory=list)
    scene: dict[str, Any] = field(default_factory=dict)
    thumb_pixels: Any = field(repr=False, default=None)
    last_seen: float = 0.0


@register("stage", "frame")
class KeyframeStage(Stage):
    name = "frame"
    version = "3"  # 2: the top ImageNet classes and pixel cues kept per keyframe; tags are calibrated statements
    # 3: "indoors"/"outdoors" among the tags when the posterior and pixel cues agree (concepts.place)
    settings = ("image_embedder", "clip_model", "keyframe_interval", "keyframe_similarity", "tag_min_prob",
                "thumb_width", "scene_threshold", "scene_fps", "scene_min_seconds")
    writes = ("frame",)
    uses = ("shot",)  # this run's cuts start a keyframe's shot, even when the shot records are up to date

    def setup(self, ctx: IndexContext) -> None:
        self._backend = ctx.backend("image_embed")
        self._backend.load()
        self._kept: list[_Keyframe] = []
        self._shot = 0
        self._last_t = -1e9
        self._seen_cuts = 0
        self._examined: Any = None
        ctx.producers["frame"] = f"{self._backend.model_id}@{self.version_tag()}"
        self._dir = Path(ctx.data_dir) / THUMBS_DIR / ctx.video.video_id
        shutil.rmtree(self._dir, ignore_errors=True)  # this video's thumbnails are redone with its keyframes
        self._dir.mkdir(parents=True, exist_ok=True)

    def on_frame(self, frame: SampledFrame, ctx: IndexContext) -> None:
        cfg = ctx.cfg
        new_shot = len(ctx.cuts) > self._seen_cuts
        if new_shot:
            self._seen_cuts = len(ctx.cuts)
            self._shot += 1
        first = not self._kept
        if not (first or new_shot) and frame.t - self._last_t < float(cfg.keyframe_interval) - 1e-6:
            return
        self._last_t = frame.t
        mine = [k for k in self._kept if k.shot == self._shot]
        thumb = frame.thumb()
        if new_shot:
            self._examined = None
        if mine and self._examined is not None and changed_fraction(thumb, self._examined) < _NEW_VIEW:
            mine[-1].last_seen = frame.t
            return
        self._examined = thumb  # the last view looked at closely, kept or not
        with ctx.timed("frame"):
            rgb = frame.rgb(int(cfg.thumb_width))  # thumbnail size: the model input is 224x224 anyway
            vector, probs = self._posterior(rgb)
            best = max(mine, key=lambda k: float(k.vector @ vector), default=None)
            if best is not None and float(best.vector @ vector) >= float(cfg.keyframe_similarity):
                best.last_seen = frame.t
                return
            classes, scene, tags = self._describe(rgb, probs, float(cfg.tag_min_prob))  # kept frames only
            self._kept.append(
                _Keyframe(
                    t=frame.t,
                    shot=self._shot,
                    vector=vector,
                    tags=tags,
                    thumb=self._save_thumb(rgb, frame.t, int(cfg.thumb_width)),
                    classes=classes,
                    scene=scene,
                    thumb_pixels=thumb,
                    last_seen=frame.t,
                )
            )

    def _posterior(self, rgb: Any) -> tuple[Any, Any]:
        """(image vector, ImageNet class probabilities or None) of one frame; an embedder without a
        classifier (CLIP) gives the vector only."""
        if not hasattr(self._backend, "posterior"):
            return self._backend.analyse([rgb])[0][0], None
        vectors, probs = self._backend.posterior([rgb])
        return vectors[0], probs[0]

    @staticmethod
    def _describe(rgb: Any, probs: Any, min_prob: float) -> tuple[list[list[float]], dict[str, Any], list[tuple[str, float]]]:
        """(top classes, pixel cues, tags) of a kept keyframe: tags are
        :func:`~vrag.backends.concepts.statements` (a class only when likely, else an everyday
        hypernym or a scene word) at or above ``min_prob``."""
        from vrag.backends.concepts import pixel_cues, statements, top_classes

        scene = pixel_cues(rgb)
        if probs is None:
            return [], scene, []
        classes = top_classes(probs)
        return classes, scene, [(w, c) for w, c in statements(classes, scene) if c >= min_prob]

    def _save_thumb(self, rgb: Any, t: float, width: int) -> str:
        import cv2

        name = f"{round(t * 1000):09d}.jpg"
        cv2.imwrite(str(self._dir / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
        return f"{THUMBS_DIR}/{self._dir.name}/{name}"

    def run(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
        producer = ctx.producers["frame"]
        cuts = sorted(ctx.cuts)
        for i, kf in enumerate(self._kept):
            nxt = self._kept[i + 1] if i + 1 < len(self._kept) else None
            shot_end = next((c for c in cuts if c > kf.t), video.duration or kf.last_seen)
            end = min(nxt.t, shot_end) if nxt is not None and nxt.shot == kf.shot else shot_end
            yield Segment(
                video_id=video.video_id,
                modality="frame",
                start=kf.t,
                end=max(end, kf.t),
                text=", ".join(name for name, _ in kf.tags),
                producer=producer,
                uri=video.uri,
                vector=[float(x) for x in kf.vector],
                meta={"thumb": kf.thumb, "tags": kf.tags, "shot": kf.shot, "classes": kf.classes, "scene": kf.scene},
            )
