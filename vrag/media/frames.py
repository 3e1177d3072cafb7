"""Stream sampled video frames with PyAV in one decode pass; memory does not grow with duration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from ..errors import MediaError
from ..registry import require

__all__ = ["SampledFrame", "FrameStream"]

#: Analysis frames (scene detection) are this wide.
SMALL_WIDTH = 160
#: Grey thumbnails for cheap change detection.
THUMB_SIZE = (160, 90)
#: A thumbnail pixel counts as changed when its grey level moves by more than this.
PIXEL_DELTA = 24
#: With ``skip_still``: after this many seconds of sampled frames without a change (no small-frame
#: value moved by more than PIXEL_DELTA), frames no other frame refers to are not decoded, until the
#: picture moves again (bench-speed: the 5-minute lecture decodes 3,900 of its 7,500 frames).
STILL_SECONDS = 1.0
#: FFmpeg's decoder threading (PyAV ``thread_type``): one thread. Frame threads cost the 5-minute
#: lecture ~0.5-0.9 s more CPU on 2 cores (bench-speed), the other core has work of its own (OCR,
#: the sound lane), and with them the frames skipped while still depend on the machine's thread count.
THREAD_TYPE = "NONE"


@dataclass
class SampledFrame:
    """A decoded frame at time ``t``; conversions are computed on demand and cached."""

    t: float
    frame: Any  # av.VideoFrame
    #: display rotation in degrees counter-clockwise (a phone video's rotation flag); ``rgb`` and
    #: ``bgr`` (what models see) are turned upright, the change-detection views stay as stored
    rotation: int = 0
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def small_bgr(self) -> Any:
        """Downscaled BGR frame (SMALL_WIDTH wide) for shot detection."""
        if "small" not in self._cache:
            w, h = self.frame.width, self.frame.height
            size = (SMALL_WIDTH, max(2, int(round(SMALL_WIDTH * h / max(1, w) / 2)) * 2))
            fast = _planar_yuv(self.frame)
            if fast is None:
                img = self.frame.reformat(width=size[0], height=size[1], format="bgr24").to_ndarray()
            else:
                img = _yuv_to_small_bgr(*fast, size=size, full_range=self.frame.format.name.startswith("yuvj"))
            self._cache["small"] = img
        return self._cache["small"]

    def thumb(self) -> Any:
        """Grey thumbnail (THUMB_SIZE) as int16, for near-duplicate checks."""
        if "thumb" not in self._cache:
            import numpy as np

            fast = _planar_yuv(self.frame)
            if fast is None:
                gray = self.frame.reformat(width=THUMB_SIZE[0], height=THUMB_SIZE[1], format="gray").to_ndarray()
            else:
                cv2 = require("cv2", "Frame analysis", "scenes")
                gray = cv2.resize(fast[0], THUMB_SIZE, interpolation=cv2.INTER_AREA)
            self._cache["thumb"] = gray.astype(np.int16)
        return self._cache["thumb"]

    def rgb(self, width: int) -> Any:
        """The frame as RGB, ``width`` pixels wide (aspect kept), upright."""
        w, h = self.frame.width, self.frame.height
        turned = self._quarter_turns() % 2 == 1
        if turned:
            w, h = h, w  # the upright picture's size
        height = max(2, round(width * h / max(1, w) / 2) * 2)
        size = (height, width) if turned else (width, height)  # as stored
        return self._upright(self.frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray())

    def bgr(self, max_side: int) -> tuple[Any, float]:
        """Full frame as BGR, downscaled so the long side is at most ``max_side``; returns (image, scale)."""
        w, h = self.frame.width, self.frame.height
        scale = min(1.0, max_side / max(w, h)) if max_side > 0 else 1.0
        if scale < 1.0:
            img = self.frame.reformat(
                width=max(2, int(w * scale) // 2 * 2), height=max(2, int(h * scale) // 2 * 2), format="bgr24"
            ).to_ndarray()
        else:
            img = self.frame.to_ndarray(format="bgr24")
        return self._upright(img), scale

    def _quarter_turns(self) -> int:
        return round((self.rotation or 0) / 90) % 4

    def _upright(self, img: Any) -> Any:
        import numpy as np

        k = self._quarter_turns()
        return np.ascontiguousarray(np.rot90(img, k)) if k else img


_PLANAR = {"yuv420p", "yuvj420p"}


def _planar_yuv(frame: Any) -> tuple[Any, Any, Any] | None:
    """Y, U, V planes of a 4:2:0 frame as numpy views (no copy), else None."""
    if frame.format.name not in _PLANAR:
        return None
    import numpy as np

    out = []
    for i, plane in enumerate(frame.planes):
        width = frame.width if i == 0 else plane.width
        height = frame.height if i == 0 else plane.height
        out.append(np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:height, :width])
    return out[0], out[1], out[2]


_LUTS: dict[str, Any] = {}


def _yuv_to_small_bgr(y: Any, u: Any, v: Any, size: tuple[int, int], full_range: bool) -> Any:
    """Area-downscale the planes first, then convert: ~2x cheaper than swscale for a thumbnail."""
    import numpy as np

    cv2 = require("cv2", "Frame analysis", "scenes")
    small = [cv2.resize(p, size, interpolation=cv2.INTER_AREA) for p in (y, v, u)]
    if not full_range:  # studio range (16-235 / 16-240) -> full range
        if not _LUTS:
            _LUTS["y"] = np.clip((np.arange(256) - 16) * 255 / 219, 0, 255).astype(np.uint8)
            _LUTS["c"] = np.clip((np.arange(256) - 128) * 255 / 224 + 128, 0, 255).astype(np.uint8)
        small = [_LUTS["y"][small[0]], _LUTS["c"][small[1]], _LUTS["c"][small[2]]]
    return cv2.cvtColor(np.dstack(small), cv2.COLOR_YCrCb2BGR)


def same_picture(a: SampledFrame, b: SampledFrame) -> bool:
    """Whether two decoded frames hold the same bytes (planes, size, format, rotation). A still picture
    (a slide, a paused screen) decodes to identical frames: 2,900 of the 4,000 the 5-minute lecture
    decodes; comparing costs ~0.05 ms a frame, converting one for shot detection ~0.8 ms."""
    import numpy as np

    fa, fb = a.frame, b.frame
    if (fa.width, fa.height, fa.format.name, a.rotation) != (fb.width, fb.height, fb.format.name, b.rotation):
        return False
    for pa, pb in zip(fa.planes, fb.planes):
        if pa.line_size != pb.line_size or pa.buffer_size != pb.buffer_size:
            return False
        x, y = np.frombuffer(pa, np.uint8), np.frombuffer(pb, np.uint8)
        if len(x) % 8 == 0:  # eight bytes at a time
            x, y = x.view(np.uint64), y.view(np.uint64)
        if not np.array_equal(x, y):
            return False
    return True


def changed_fraction(a: Any, b: Any) -> float:
    """Fraction of thumbnail pixels whose grey level differs by more than PIXEL_DELTA.

    Sensitive to local changes (a new line of text on an unchanged slide) and blind to
    compression noise, unlike a mean difference.
    """
    import numpy as np

    return float(np.count_nonzero(np.abs(a - b) > PIXEL_DELTA)) / a.size


class FrameStream:
    """Iterate frames of ``path`` at about ``fps`` frames per second.

    Every frame is decoded (codecs need that) but only sampled frames are converted.
    A decode error part-way (truncated or damaged file) ends the stream early and is
    kept in :attr:`error` instead of losing what was already read.
    """

    def __init__(self, path: str, fps: float, skip_still: bool = False):
        self.path = path
        self.fps = fps
        #: while the picture stands still, decode only reference frames (see STILL_SECONDS)
        self.skip_still = skip_still
        self.error: str | None = None
        self.last_time = 0.0
        #: frames decoded, and sampled frames seen while non-reference frames were skipped
        self.decoded = self.sampled_skipping = 0
        #: sampled frames whose picture was the previous one's, to the byte (its conversions were reused)
        self.repeated = 0

    def __iter__(self) -> Iterator[SampledFrame]:
        av = require("av", "Reading media", "all")
        try:
            container = av.open(self.path, metadata_errors="ignore")
        except av.error.FFmpegError as exc:
            raise MediaError(self.path, f"cannot open video: {exc}") from exc
        try:
            stream = next(s for s in container.streams.video)
            stream.thread_type = THREAD_TYPE
            step = 1.0 / self.fps if self.fps > 0 else 0.0
            next_t = None
            previous: SampledFrame | None = None
            still = _Stillness(stream) if self.skip_still else None
            try:
                for frame in container.decode(stream):
                    self.decoded += 1
                    t = frame.time
                    if t is None:
                        continue
                    t = max(0.0, float(t))
                    self.last_time = t
                    if next_t is not None and t + 1e-6 < next_t:
                        continue
                    next_t = t + step
                    sampled = SampledFrame(t, frame, int(getattr(frame, "rotation", 0) or 0))
                    if previous is not None and same_picture(previous, sampled):
                        sampled._cache = dict(previous._cache)  # its conversions, as they would come out
                        self.repeated += 1
                    previous = sampled
                    if still is not None:
                        self.sampled_skipping += still.skipping
                        still.see(sampled)
                    yield sampled
            except av.error.FFmpegError as exc:
                self.error = f"video decoding stopped at {self.last_time:.1f}s: {exc}"
        finally:
            container.close()


class _Stillness:
    """Turns the decoder's skipping of non-reference frames on once the sampled frames have stood still
    for STILL_SECONDS, and off at the first one that moved. A cut during a still stretch is seen on the
    first decoded frame of the new shot: H.264 encoders start a new scene with a frame others refer to."""

    def __init__(self, stream: Any):
        self.codec = stream.codec_context
        self.skipping = False
        self._previous: Any = None
        self._since = 0.0

    def see(self, frame: SampledFrame) -> None:
        import numpy as np

        small = frame.small_bgr()
        previous, self._previous = self._previous, small
        moved = previous is None or (small is not previous and (previous.shape != small.shape or bool(
            np.any(np.abs(small.astype(np.int16) - previous) > PIXEL_DELTA))))
        if moved:
            self._since = frame.t
            self._skip(False)
        elif frame.t - self._since >= STILL_SECONDS:
            self._skip(True)

    def _skip(self, on: bool) -> None:
        if on != self.skipping:
            self.skipping = on
            try:
                self.codec.skip_frame = "NONREF" if on else "DEFAULT"
            except Exception:  # a decoder without the option decodes every frame
                self.skipping = False
