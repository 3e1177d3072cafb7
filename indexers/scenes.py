"""Shot boundaries with PySceneDetect's ContentDetector, fed downscaled frames from the shared decode."""

from __future__ import annotations

from typing import Any, Iterator

from vrag.media.frames import SampledFrame
from vrag.registry import register, require
from vrag.schema import VideoRef, Segment

from .base import IndexContext, Stage

__all__ = ["ShotStage"]


@register("stage", "shot")
class ShotStage(Stage):
    """Finds hard cuts; the shot spans land in ``ctx.shots``. Shot records are written by
    :mod:`vrag.indexers.granularity` once the text that falls inside each shot is known."""

    name = "shot"
    label = "shots"
    version = "1"
    settings = ("scene_threshold", "scene_fps", "scene_min_seconds")
    writes = ()  # shot spans; the shot records themselves are written by "units"

    def __init__(self) -> None:
        self._detector: Any = None
        self._timecode: Any = None
        self._cuts: list[float] = []

    @property
    def producer(self) -> str:
        return f"pyscenedetect-content@{self.version_tag()}"

    def setup(self, ctx: IndexContext) -> None:
        detect = require("scenedetect", "Shot detection", "scenes")
        fps = float(ctx.cfg.scene_fps)
        self._detector = detect.ContentDetector(
            threshold=float(ctx.cfg.scene_threshold),
            min_scene_len=max(1, round(float(ctx.cfg.scene_min_seconds) * fps)),
        )
        self._timecode = lambda t: detect.FrameTimecode(round(t * fps), fps=fps)
        self._cuts = ctx.cuts
        self._last = None
        self._still = _still_frame(self._detector)
        ctx.producers["shot"] = self.producer

    def on_frame(self, frame: SampledFrame, ctx: IndexContext) -> None:
        small, timecode = frame.small_bgr(), self._timecode(frame.t)
        if small is self._last and self._still is not None:  # the picture the detector saw last, reused
            cuts = self._still(timecode)
        else:
            cuts = self._detector.process_frame(timecode, small)
        self._last = small
        for cut in cuts:
            self._cuts.append(frame.t if abs(cut.seconds - frame.t) < 0.05 else float(cut.seconds))

    def run(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
        if not video.has_video:
            return iter(())
        end = max(video.duration, ctx.video.duration)
        if self._detector is not None:
            self._cuts.extend(float(c.seconds) for c in self._detector.post_process(self._timecode(end)))
        bounds = [0.0] + sorted(c for c in set(self._cuts) if 0.0 < c < end) + [end]
        ctx.shots = [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
        return iter(())


def _still_frame(detector: Any) -> Any:
    """What ContentDetector.process_frame does with the picture it saw last (a still frame decodes to the
    same bytes; :func:`vrag.media.frames.same_picture`): every difference is 0, a score of 0, below any
    threshold, so only its flash filter hears of the frame. Converting the picture to HSV and comparing
    it cost ~0.6 s of the 5-minute lecture (bench-speed). None where the detector is not laid out so
    (another PySceneDetect): then every frame is processed."""
    flash = getattr(detector, "_flash_filter", None)
    if (type(detector).__name__ != "ContentDetector" or getattr(detector, "stats_manager", None) is not None
            or not callable(getattr(flash, "filter", None)) or not float(getattr(detector, "_threshold", 0)) > 0):
        return None

    def still(timecode: Any) -> list[Any]:
        detector._frame_score = 0.0
        return flash.filter(timecode=timecode, above_threshold=False)

    return still
