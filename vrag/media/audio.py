"""Stream a file's audio as 16 kHz mono float32 chunks, cut at quiet points.

Memory is bounded by the chunk length, not the media's duration.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..errors import MediaError
from ..registry import require

__all__ = ["AudioChunks", "SAMPLE_RATE", "default_audio_stream"]

SAMPLE_RATE = 16000


def default_audio_stream(container: Any) -> Any:
    """The audio stream a player would play: the first one flagged *default*, else the first.

    Files with several tracks (languages, commentary, a separate microphone track) often
    carry music or silence first and mark the main track as the default.
    """
    streams = list(container.streams.audio)
    try:
        import av

        flag = av.stream.Disposition.default
        return next((s for s in streams if s.disposition & flag), streams[0])
    except (AttributeError, TypeError):  # a PyAV without dispositions
        return streams[0]


def _mono(frame: Any) -> Any:
    """The channels of a planar float frame averaged into one (float32)."""
    planes = frame.to_ndarray()
    return planes[0] if planes.shape[0] == 1 else planes.mean(axis=0, dtype="float32")


class AudioChunks:
    """Iterate ``(offset_seconds, samples)`` over the default audio stream of ``path``.

    Each chunk is about ``chunk_seconds`` long; the boundary is moved to the quietest
    quarter-second in the last ``search_seconds`` so words are not cut in half.
    A decode error part-way ends the stream early and is kept in :attr:`error`.
    """

    def __init__(self, path: str, chunk_seconds: float = 600.0, search_seconds: float = 10.0):
        self.path = path
        self.chunk = max(10.0, chunk_seconds)
        self.search = min(search_seconds, self.chunk / 2)
        self.error: str | None = None
        self.decoded_seconds = 0.0

    def __iter__(self) -> Iterator[tuple[float, Any]]:
        import numpy as np

        av = require("av", "Reading media", "all")
        try:
            container = av.open(self.path, metadata_errors="ignore")
        except av.error.FFmpegError as exc:
            raise MediaError(self.path, f"cannot open audio: {exc}") from exc
        chunk_len = int(self.chunk * SAMPLE_RATE)
        pending: list[Any] = []
        pending_len = 0
        offset: float | None = None
        try:
            stream = default_audio_stream(container)
            # channels are kept and averaged here: ffmpeg's float downmix adds +3 dB to stereo (samples past
            # 1.0, and Whisper transcribed a song worse than from the average of the channels)
            resampler = av.AudioResampler(format="fltp", rate=SAMPLE_RATE)
            for frame in self._frames(container, stream, resampler):
                if offset is None:
                    offset = max(0.0, float(frame[1]) if frame[1] is not None else 0.0)
                pending.append(frame[0])
                pending_len += len(frame[0])
                if pending_len >= chunk_len:
                    buf = np.concatenate(pending)
                    cut = self._quiet_cut(buf)
                    yield offset, buf[:cut]
                    offset += cut / SAMPLE_RATE
                    pending, pending_len = [buf[cut:]], len(buf) - cut
            if pending_len:
                yield (offset or 0.0), np.concatenate(pending)
        finally:
            container.close()

    def _frames(self, container: Any, stream: Any, resampler: Any) -> Iterator[tuple[Any, float | None]]:
        av = require("av", "Reading media", "all")
        try:
            for frame in container.decode(stream):
                t = frame.time
                for out in resampler.resample(frame):
                    samples = _mono(out)
                    self.decoded_seconds += len(samples) / SAMPLE_RATE
                    yield samples, t
                    t = None
            for out in resampler.resample(None):
                yield _mono(out), None
        except av.error.FFmpegError as exc:
            self.error = f"audio decoding stopped at {self.decoded_seconds:.1f}s: {exc}"

    def _quiet_cut(self, buf: Any) -> int:
        import numpy as np

        win = SAMPLE_RATE // 4
        lo = max(0, len(buf) - int(self.search * SAMPLE_RATE))
        tail = buf[lo:]
        n = len(tail) // win
        if n < 2:
            return len(buf)
        energy = (tail[: n * win].reshape(n, win) ** 2).mean(axis=1)
        return lo + int(np.argmin(energy)) * win + win // 2
