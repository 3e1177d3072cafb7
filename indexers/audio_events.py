"""Audio event records: where there is speech, singing or music, so music-only media is not blank."""

from __future__ import annotations

from typing import Iterator

from vrag.media.audio import AudioChunks
from vrag.schema import Segment, VideoRef

from vrag.registry import register

from .base import IndexContext, Stage

__all__ = ["AudioEventStage", "merge_spans"]

#: Spans of one label closer than this are one event (also joins spans cut at chunk boundaries).
_JOIN_GAP = 1.0
#: Shorter events are dropped as noise.
_MIN_SECONDS = 0.5
_TEXT = {"speech": "speech", "singing": "singing voice", "music": "music"}


def merge_spans(spans: list[tuple[str, float, float]], gap: float = _JOIN_GAP) -> list[tuple[str, float, float]]:
    """Join same-label spans that touch or nearly touch; sorted by start."""
    out: dict[str, list[list[float]]] = {}
    for label, start, end in sorted(spans, key=lambda s: (s[0], s[1])):
        runs = out.setdefault(label, [])
        if runs and start - runs[-1][1] <= gap:
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([start, end])
    return sorted(((lab, a, b) for lab, runs in out.items() for a, b in runs), key=lambda s: (s[1], s[0]))


@register("stage", "audio_event")
class AudioEventStage(Stage):
    name = "audio_event"
    version = "1"
    settings = ("text_embedder", "audio_events")
    writes = ("audio_event",)

    def run(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
        if not video.has_audio:
            return
        backend = ctx.backend("audio_events")
        producer = f"{backend.producer}@{self.version_tag()}"
        ctx.producers["audio_event"] = producer
        chunks = AudioChunks(video.abs_path, float(ctx.cfg.asr_chunk_seconds))
        spans: list[tuple[str, float, float]] = []
        for offset, samples in chunks:
            spans.extend(backend.detect(samples, offset))
            ctx.report("audio_event", offset + len(samples) / 16000.0)
        if chunks.error:
            ctx.fail("audio_event", chunks.error)
        for label, start, end in merge_spans(spans):
            if end - start < _MIN_SECONDS:
                continue
            yield Segment(
                video_id=video.video_id,
                modality="audio_event",
                start=round(start, 3),
                end=round(end, 3),
                text=_TEXT.get(label, label),
                producer=producer,
                uri=video.uri,
                meta={"label": label},
            )
