"""Identify a media file: content hash (the video id) and stream facts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ..errors import MediaError, UnsupportedMediaError
from ..registry import require
from ..schema import VideoRef

__all__ = ["content_hash", "probe"]

_CHUNK = 1 << 20


def content_hash(path: str | os.PathLike[str]) -> str:
    """blake2b-128 of the file's bytes: the video id, independent of name and location."""
    digest = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        raise MediaError(path, "file disappeared before it could be read") from None
    except OSError as exc:
        raise MediaError(path, f"cannot read file: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def _is_cover_art(stream: Any) -> bool:
    disposition = getattr(stream, "disposition", 0)
    try:
        import av

        return bool(disposition & av.stream.Disposition.attached_pic)
    except (AttributeError, TypeError):
        return False


def probe(path: str | os.PathLike[str], given: str | None = None, video_id: str | None = None) -> VideoRef:
    """Open ``path`` and describe it. Raises :class:`MediaError` naming the file and the reason."""
    av = require("av", "Reading media", "all")
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MediaError(path, "file disappeared before it could be read") from None
    except OSError as exc:
        raise MediaError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if st.st_size == 0:
        raise MediaError(path, "empty file (0 bytes)")
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.error.FileNotFoundError:
        raise MediaError(path, "file disappeared before it could be read") from None
    except av.error.PermissionError:
        raise MediaError(path, "permission denied") from None
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(path, f"not a readable media file ({_av_reason(exc)})") from exc
    try:
        return _describe(container, p, st, given, video_id)
    finally:
        container.close()


def _describe(container: Any, p: Path, st: os.stat_result, given: str | None, video_id: str | None) -> VideoRef:
    streams: list[dict[str, Any]] = []
    video = audio = None
    unsupported: list[str] = []
    for s in container.streams:
        if s.type not in ("video", "audio"):
            continue
        codec = _codec_name(s)
        info: dict[str, Any] = {"index": s.index, "type": s.type, "codec": codec}
        if codec is None:
            unsupported.append(f"{s.type} stream {s.index}")
            info["decodable"] = False
            streams.append(info)
            continue
        if s.type == "video" and not _is_cover_art(s):
            info.update(width=s.codec_context.width, height=s.codec_context.height, fps=_fps(s))
            video = video or s
        elif s.type == "audio":
            info.update(sample_rate=s.codec_context.sample_rate, channels=s.codec_context.channels)
            audio = audio or s
        streams.append(info)
    if video is None and audio is None:
        reason = (
            f"unsupported codec in {', '.join(unsupported)}" if unsupported else "no audio or video stream"
        )
        raise UnsupportedMediaError(p, reason)
    duration = _duration(container, [s for s in (video, audio) if s is not None])
    if duration <= 0 and not _has_packet(container):
        raise UnsupportedMediaError(p, "no audio or video data (stream headers but no packets)")
    if video is not None and audio is None and duration <= 0 and (video.frames or 0) <= 1:
        raise UnsupportedMediaError(p, "a still image, not a video")
    return VideoRef(
        video_id=video_id or content_hash(p),
        path=given if given is not None else str(p),
        abs_path=str(p.absolute()),
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        duration=duration,
        has_video=video is not None,
        has_audio=audio is not None,
        fps=_fps(video) if video is not None else 0.0,
        width=int(video.codec_context.width) if video is not None else 0,
        height=int(video.codec_context.height) if video is not None else 0,
        streams=streams,
    )


def _has_packet(container: Any) -> bool:
    """Whether the container holds any data at all (read only up to the first packet)."""
    import av

    try:
        return any(packet.size for packet in container.demux())
    except av.error.FFmpegError:
        return True  # damaged data is still data: decoding reports how far it gets


def _codec_name(stream: Any) -> str | None:
    try:
        ctx = stream.codec_context
        return ctx.name if ctx is not None and ctx.codec is not None else None
    except Exception:  # PyAV raises various errors for codecs it has no decoder for
        return None


def _fps(stream: Any) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _duration(container: Any, streams: list[Any]) -> float:
    if container.duration:
        return max(0.0, float(container.duration) / 1_000_000)
    best = 0.0
    for s in streams:
        if s.duration and s.time_base:
            best = max(best, float(s.duration * s.time_base))
    return best


def _av_reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[0].strip() if ": '" in text else text.strip()
