"""Speech records: a sidecar subtitle file when there is one, else faster-whisper over streamed audio."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from vrag.errors import MediaError
from vrag.media.audio import SAMPLE_RATE, AudioChunks
from vrag.registry import require
from vrag.schema import Segment, VideoRef

from .base import IndexContext
from .speech_split import split_speech

__all__ = ["SpeechIndexer", "find_sidecar"]

_SUB_EXTS = (".srt", ".vtt")
#: Whisper segments this unlikely to be speech are dropped (hallucinations on noise/music).
_NO_SPEECH_MAX = 0.8
_LOGPROB_MIN = -1.0


def find_sidecar(media: str | Path) -> Path | None:
    """``name.srt``/``name.vtt`` next to the media, else ``name.<lang>.srt``/``.vtt`` (English first)."""
    p = Path(media)
    for ext in _SUB_EXTS:
        exact = p.with_suffix(ext)
        if exact.is_file():
            return exact
    try:
        siblings = sorted(p.parent.iterdir())
    except OSError:
        return None
    pattern = re.compile(re.escape(p.stem) + r"\.([A-Za-z]{2,3}(?:[-_][A-Za-z]{2,4})?)(\.srt|\.vtt)$")
    tagged = [(m.group(1).lower(), s) for s in siblings if (m := pattern.match(s.name)) and s.is_file()]
    tagged.sort(key=lambda pair: (not pair[0].startswith("en"), pair[0]))
    return tagged[0][1] if tagged else None


class SpeechIndexer:
    name = "asr"
    version = "1"
    modality = "asr"

    def index(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
        sidecar = find_sidecar(video.abs_path) if ctx.cfg.use_subtitles else None
        if sidecar is not None:
            yield from self._subtitles(video, sidecar, ctx)
            return
        if not video.has_audio:
            ctx.warn("asr", "no audio track; speech skipped")
            return
        yield from self._transcribe(video, ctx)

    def _subtitles(self, video: VideoRef, sidecar: Path, ctx: IndexContext) -> Iterator[Segment]:
        pysubs2 = require("pysubs2", "Reading subtitle files", "all")
        try:
            subs = pysubs2.load(str(sidecar), encoding="utf-8")
        except UnicodeDecodeError:
            subs = pysubs2.load(str(sidecar), encoding="latin-1")
        except Exception as exc:
            raise MediaError(sidecar, f"cannot read subtitle file: {exc}") from exc
        producer = f"subtitles:{sidecar.suffix.lstrip('.')}@{self.name}-{self.version}"
        ctx.producers["asr"] = producer
        for event in subs:
            if event.is_comment:
                continue
            text = " ".join(event.plaintext.split())
            if not text:
                continue
            yield Segment(
                video_id=video.video_id,
                modality="asr",
                start=event.start / 1000.0,
                end=event.end / 1000.0,
                text=text,
                producer=producer,
                uri=video.uri,
                meta={"source": "sidecar", "file": sidecar.name},
            )

    def _transcribe(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
        asr = ctx.backend("asr")
        asr.load()
        producer = f"{asr.producer}@{self.name}-{self.version}"
        ctx.producers["asr"] = producer
        chunks = AudioChunks(video.abs_path, float(ctx.cfg.asr_chunk_seconds))
        for offset, samples in chunks:
            for whole in asr.transcribe(samples, offset=offset):
                ctx.report("asr", whole.end)
                if whole.no_speech_prob > _NO_SPEECH_MAX and whole.avg_logprob < _LOGPROB_MIN:
                    continue
                yield from (self._record(video, seg, producer) for seg in split_speech(whole))
            ctx.report("asr", offset + len(samples) / SAMPLE_RATE)
        if chunks.error:
            ctx.fail("asr", chunks.error)
        else:
            ctx.check_complete("asr", chunks.decoded_seconds)

    @staticmethod
    def _record(video: VideoRef, seg: Any, producer: str) -> Segment:
        return Segment(
            video_id=video.video_id,
            modality="asr",
            start=seg.start,
            end=seg.end,
            text=seg.text,
            producer=producer,
            uri=video.uri,
            meta={
                "words": seg.words,
                "avg_logprob": round(seg.avg_logprob, 3),
                "no_speech_prob": round(seg.no_speech_prob, 3),
            },
        )
