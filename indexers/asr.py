"""Speech records: a sidecar subtitle file when there is one, else faster-whisper over streamed audio."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any, Iterator

from vrag.errors import MediaError
from vrag.media.audio import SAMPLE_RATE, AudioChunks
from vrag.config import Config
from vrag.registry import register, require
from vrag.schema import Segment, VideoRef

from .base import IndexContext, Stage
from .speech_split import split_speech

__all__ = ["SpeechStage", "find_sidecar"]

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


def _decode_subtitles(raw: bytes) -> str:
    """Subtitle bytes as text: a byte-order mark wins, then UTF-8 (a few bad bytes become U+FFFD),
    else Windows-1252 (Latin-1 plus the curly quotes and dashes of Windows editors)."""
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return raw.decode(encoding, errors="replace")
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad > sum(ord(ch) > 127 for ch in text) - bad:  # more undecodable bytes than characters: not UTF-8
        return raw.decode("cp1252", errors="replace")
    return text


@register("stage", "asr")
class SpeechStage(Stage):
    name = "asr"
    version = "1"
    settings = ("text_embedder", "asr", "asr_model", "asr_language", "asr_vad", "asr_beam_size", "asr_batch_size",
                "use_subtitles")
    writes = ("asr",)

    @classmethod
    def fingerprint_extra(cls, cfg: Config, media_path: str) -> dict[str, Any]:
        """A subtitle file next to the media is part of its speech: editing it redoes the stage."""
        sidecar = find_sidecar(media_path) if cfg.use_subtitles else None
        if sidecar is None:
            return {}
        st = sidecar.stat()
        return {"sidecar": [sidecar.name, st.st_size, st.st_mtime_ns]}

    def run(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
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
            subs = pysubs2.SSAFile.from_string(_decode_subtitles(sidecar.read_bytes()))
        except Exception as exc:
            detail = "not in a subtitle format" if type(exc).__name__ == "FormatAutodetectionError" else exc
            raise MediaError(sidecar, f"cannot read subtitle file: {' '.join(str(detail).split())}") from exc
        producer = f"subtitles:{sidecar.suffix.lstrip('.')}@{self.version_tag()}"
        ctx.producers["asr"] = producer
        # cues in time order; negative times start at 0 and a cue that ends before it starts is turned round
        cues = sorted(
            ((max(0.0, min(e.start, e.end) / 1000.0), max(0.0, max(e.start, e.end) / 1000.0), e)
             for e in subs if not e.is_comment),
            key=lambda cue: cue[:2],
        )
        for start, end, event in cues:
            text = " ".join(event.plaintext.split())
            if not text:
                continue
            yield Segment(
                video_id=video.video_id,
                modality="asr",
                start=start,
                end=end,
                text=text,
                producer=producer,
                uri=video.uri,
                meta={"source": "sidecar", "file": sidecar.name},
            )

    def _transcribe(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
        asr = ctx.backend("asr")
        asr.load()
        producer = f"{asr.producer}@{self.version_tag()}"
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
