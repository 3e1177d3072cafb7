"""Cut a span out of a media file with ffmpeg: a stream copy (fast, lossless) when the cut starts on a
keyframe or the file has no video, a re-encode otherwise (a copy would start at the keyframe before)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .discover import AUDIO_EXTS, MEDIA_EXTS
from .errors import MediaError, VragError

__all__ = ["Clip", "cut", "keyframes"]

#: A keyframe this close to the requested start lets the cut be a stream copy (seconds: about a frame).
KEYFRAME_SLACK = 0.04
_H264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k"]
_ENCODERS = {".mp4": _H264, ".m4v": _H264, ".mov": _H264, ".mkv": _H264}


@dataclass
class Clip:
    path: str
    start: float
    end: float
    #: ``copy`` (stream copy) or ``encode`` (re-encoded)
    method: str


def keyframes(path: str | os.PathLike[str]) -> tuple[list[float] | None, float]:
    """The keyframe times of the first video stream (None without video) and the media's duration."""
    import av

    try:
        with av.open(os.fspath(path)) as container:
            duration = float(container.duration or 0) / 1_000_000
            videos = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
            if not videos:
                return None, duration
            stream = videos[0]
            times = [float(p.pts * stream.time_base) for p in container.demux(stream)
                     if p.is_keyframe and p.pts is not None]
            return sorted(times), duration
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"cannot be read: {exc}") from None


def _check(src: str, start: float, end: float, out: str, duration: float) -> None:
    if end <= start:
        raise VragError(f"--from {start:g} --to {end:g}: the end must come after the start")
    if duration and start >= duration:
        raise VragError(f"--from {start:g}: {src} is only {duration:.1f} s long")
    if Path(out).suffix.lower() not in MEDIA_EXTS:
        raise VragError(f"-o {out}: use a media file name ({', '.join(sorted(MEDIA_EXTS))})")
    if os.path.abspath(out) == os.path.abspath(src):
        raise VragError(f"-o {out}: that is the source file; choose another name")
    if not os.path.isdir(os.path.dirname(os.path.abspath(out))):
        raise VragError(f"-o {out}: the folder {os.path.dirname(os.path.abspath(out))} does not exist")


def _ffmpeg(args: list[str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise VragError("cutting clips needs the ffmpeg program, which is not installed (apt install ffmpeg)")
    return subprocess.run([exe, "-hide_banner", "-v", "error", "-nostdin", "-y", *args],
                          capture_output=True, text=True, check=False)


def cut(src: str | os.PathLike[str], start: float, end: float, out: str | os.PathLike[str]) -> Clip:
    """Write ``[start, end]`` seconds of ``src`` to ``out`` (its extension picks the container).
    ``end`` past the end of the media is cut at the end."""
    src, out = os.fspath(src), os.fspath(out)
    if not os.path.isfile(src):
        raise MediaError(src, "no such file")
    keys, duration = keyframes(src)
    _check(src, start, end, out, duration)
    end = min(end, duration) if duration else end
    span = ["-ss", f"{start:.3f}", "-i", src, "-t", f"{end - start:.3f}", "-map", "0:v:0?", "-map", "0:a:0?"]
    audio_out = Path(out).suffix.lower() in AUDIO_EXTS
    on_key = keys is None or any(abs(k - start) <= KEYFRAME_SLACK for k in keys)
    if on_key:
        done = _ffmpeg([*span, *(["-vn"] if audio_out else []), "-c", "copy", "-avoid_negative_ts", "make_zero", out])
        if done.returncode == 0 and os.path.getsize(out) > 0:
            return Clip(out, start, end, "copy")
    codecs = ["-vn"] if audio_out else _ENCODERS.get(Path(out).suffix.lower(), [])
    done = _ffmpeg([*span, *codecs, out])
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["ffmpeg failed"])[-1]
        raise MediaError(src, f"cutting {start:g}-{end:g} s into {out} failed: {reason}")
    return Clip(out, start, end, "encode")
