"""Coarser retrieval units built from the fine records: shots, fixed windows, chapters.

Each unit's text is the speech and on-screen text that overlaps it, so retrieval can
work at several granularities (a sentence, a shot, ~30 s, ~5 min).
"""

from __future__ import annotations

from typing import Iterable, Sequence

from vrag.registry import register
from vrag.schema import Segment, VideoRef

from .base import IndexContext, Stage

__all__ = ["units", "UnitsStage", "PRODUCER_VERSION"]

PRODUCER_VERSION = "granularity-1"
#: Longest text kept on a unit record (the embedder reads only the start of long text anyway).
_MAX_CHARS = 4000


def _spans(duration: float, length: float) -> list[tuple[float, float]]:
    if duration <= 0 or length <= 0:
        return []
    out, t = [], 0.0
    while t < duration - 1e-6:
        out.append((t, min(duration, t + length)))
        t += length
    # fold a tiny tail (< 1/4 unit) into the previous unit
    if len(out) > 1 and out[-1][1] - out[-1][0] < length / 4:
        out[-2:] = [(out[-2][0], out[-1][1])]
    return out


def _text_in(start: float, end: float, fine: Sequence[Segment]) -> str:
    speech, screen, seen = [], [], set()
    for seg in fine:
        if seg.end <= start or seg.start >= end or not seg.text:
            continue
        target = speech if seg.modality == "asr" else screen
        for line in seg.text.splitlines():
            key = line.strip().lower()
            if key and key not in seen:
                seen.add(key)
                target.append(line.strip())
    text = " ".join(speech)
    if screen:
        text = (text + "\n" if text else "") + "\n".join(screen)
    return text[:_MAX_CHARS]


def units(
    video: VideoRef,
    shots: Iterable[tuple[float, float]],
    fine: Sequence[Segment],
    window_seconds: float,
    chapter_seconds: float,
    shot_producer: str | None,
) -> list[Segment]:
    """Shot records (always, even without text) plus window and chapter records that have text."""
    fine = sorted(fine, key=lambda s: s.start)
    duration = max([video.duration] + [s.end for s in fine])
    out: list[Segment] = []
    for i, (start, end) in enumerate(shots):
        out.append(
            Segment(
                video_id=video.video_id,
                modality="shot",
                start=start,
                end=end,
                text=_text_in(start, end, fine),
                producer=shot_producer or "shots",
                uri=video.uri,
                meta={"shot": i},
            )
        )
    for modality, length in (("window", window_seconds), ("chapter", chapter_seconds)):
        spans = _spans(duration, length)
        if modality == "chapter" and len(spans) <= 1:
            continue  # a chapter covering the whole short video repeats its only window
        for i, (start, end) in enumerate(spans):
            text = _text_in(start, end, fine)
            if text:
                out.append(
                    Segment(
                        video_id=video.video_id,
                        modality=modality,
                        start=start,
                        end=end,
                        text=text,
                        producer=PRODUCER_VERSION,
                        uri=video.uri,
                        meta={modality: i},
                    )
                )
    return out


@register("stage", "units")
class UnitsStage(Stage):
    """Shot/window/chapter records from this run's speech and screen text plus the stored rest."""

    name = "units"
    settings = ("text_embedder", "window_seconds", "chapter_seconds")
    reads = ("shot", "asr", "ocr")
    writes = ("shot", "window", "chapter")
    implicit = True

    @classmethod
    def version_tag(cls) -> str:
        return PRODUCER_VERSION

    def run(self, video: VideoRef, ctx: IndexContext) -> list[Segment]:
        fine = ctx.records("asr") + ctx.records("ocr")
        if "shot" in ctx.ran:
            shots, producer = ctx.shots, ctx.producers.get("shot")
        else:
            stored = ctx.stored("shot")
            shots = sorted((s.start, s.end) for s in stored)
            producer = next((s.producer for s in stored), None)
        cfg = ctx.cfg
        return units(video, shots, fine, float(cfg.window_seconds), float(cfg.chapter_seconds), producer)
