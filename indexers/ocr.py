"""On-screen text as timed text tracks, like subtitle extraction.

Frames arrive from the shared decode; four per second are looked at. A frame is
OCR'd only if its grey thumbnail differs from the last OCR'd frame (unchanged
frames just extend the text already on screen, so a static slide costs one OCR
call), and then at once when it starts a shot or jumps out of a still picture (a
slide change), otherwise when due (every ``ocr_interval`` seconds, backing off
while motion changes the picture but not its text). A line seen in
consecutive OCR'd frames becomes one track (start = first frame it was seen,
end = when it was gone); lines that appear and disappear together (a slide)
become one ``ocr`` record with the lines in reading order.

A read costs in proportion to what changed (``ocr_incremental``): a picture read before (a
slide shown again, a window switched back to) is recalled without OCR; otherwise text is
looked for only in the regions that changed since the nearest earlier read
(:mod:`.ocr_regions`), the lines elsewhere are kept, and a line whose pixels did not change
is not recognised again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Iterator

from vrag.backends.ocr import TextLine
from vrag.config import Config
from vrag.media.frames import SampledFrame, changed_fraction
from vrag.schema import Segment, VideoRef

from vrag.registry import register

from .base import IndexContext, Stage
from .language import text_language
from .ocr_regions import changed_regions, grey_view
from .ocr_text import restore_spaces

__all__ = ["ScreenTextStage", "normalise"]

#: Seconds between frames looked at (a cheap thumbnail comparison each).
_CHECK_STEP = 0.25
#: Fraction of thumbnail pixels changing between two looks that counts as a jump (or, against
#: the last frame read, as a different picture)...
_JUMP = 0.03
#: ...and below which two looks count as a still picture.
_STILL = 0.01
#: While the picture keeps changing but its text does not, the interval doubles up to this factor.
_MAX_BACKOFF = 8
_MIN_ALNUM = 2
#: A line missed by a read and found again within this many seconds was there all along
#: (detection flicker on small text); after a longer gap it is a new appearance.
_FLICKER_SECONDS = 4.0
#: Earlier reads kept for recalling a picture seen again (a slide shown twice, a window switched back to).
_RECALL = 64


def normalise(text: str) -> str:
    """Key for matching a line across frames: lower case, letters and digits only."""
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def _same_line(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.85


@dataclass
class _Track:
    key: str
    line: TextLine
    start: float
    last_seen: float
    frames: int = 1
    variants: set[str] = field(default_factory=set)
    misses: int = 0  # consecutive reads that did not find the line

    def see(self, line: TextLine, t: float) -> None:
        self.last_seen = t
        self.misses = 0
        self.frames += 1
        if line.confidence > self.line.confidence:
            self.line = line
        self.variants.add(line.text)


@dataclass
class _Read:
    """One read of the picture: its thumbnail, grey copy (for changed regions) and lines."""

    thumb: Any
    grey: Any
    lines: list[TextLine]


@register("stage", "ocr")
class ScreenTextStage(Stage):
    name = "ocr"
    version = "5"  # 4: a word run into its figure is set apart ("LIVE12:17" -> "LIVE 12:17"); 5: two common
    # words run together are split ("OILYSKIN" -> "OILY SKIN", "KeepThis" -> "Keep This")
    settings = ("text_embedder", "ocr", "ocr_interval", "ocr_min_confidence", "ocr_change_threshold", "ocr_max_side",
                "ocr_incremental")
    writes = ("ocr",)

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._active: list[_Track] = []
        self._done: list[tuple[_Track, float]] = []
        self._last_ocr_thumb = None
        self._last_ocr_t = -1e9
        self._prev_thumb = None
        self._prev_was_still = False
        self._backoff = 1
        self._last_check_t = -1e9
        self._frame_size = (0, 0)
        self.frames_ocred = 0
        self.frames_seen = 0
        #: reads answered from an earlier read of the same picture
        self.frames_recalled = 0
        self._reads: list[_Read] = []

    @classmethod
    def fingerprint_extra(cls, cfg: Config, media_path: str) -> dict[str, Any]:
        """Another recognition model (``ocr_rec_model``) redoes the screen text; the packaged one adds nothing."""
        return {"rec": [str(cfg.ocr_rec_model), str(cfg.ocr_rec_keys)]} if str(cfg.ocr_rec_model) else {}

    def setup(self, ctx: IndexContext) -> None:
        self._reset()
        self._ocr = ctx.backend("ocr")
        ctx.producers["ocr"] = f"{self._ocr.producer}@{self.version_tag()}"

    def on_frame(self, frame: SampledFrame, ctx: IndexContext) -> None:
        cfg = ctx.cfg
        shot_start = bool(ctx.cuts) and ctx.cuts[-1] == frame.t
        if not shot_start and frame.t - self._last_check_t < _CHECK_STEP - 1e-6:
            return
        self._last_check_t = frame.t
        thumb = frame.thumb()
        self.frames_seen += 1
        motion = 1.0 if self._prev_thumb is None else changed_fraction(thumb, self._prev_thumb)
        self._prev_thumb = thumb
        # a still picture, even one that needed no read, makes the next jump a slide change
        was_still, self._prev_was_still = self._prev_was_still, motion < _STILL
        drift = 1.0 if self._last_ocr_thumb is None else changed_fraction(thumb, self._last_ocr_thumb)
        if drift < float(cfg.ocr_change_threshold):
            for track in self._active:  # same picture as last read: the same text is still there
                if not track.misses:
                    track.last_seen = frame.t
            return
        # Read at once: a jump out of a still picture (a slide change, a new page), or a picture
        # that has settled and differs a lot from the last one read (text that animated in).
        # Continuous motion waits for the interval, which backs off while the text stays the same.
        sudden = motion >= _JUMP and was_still
        settled = motion < _STILL and drift >= _JUMP
        interval = float(cfg.ocr_interval)
        since = frame.t - self._last_ocr_t
        due = since >= interval * self._backoff or ((shot_start or sudden or settled) and since >= interval / 4)
        if not due:
            return
        with ctx.timed("ocr"):
            lines = self._read(frame, thumb, cfg)
        self._last_ocr_thumb, self._last_ocr_t = thumb, frame.t
        text_changed = self._update(lines, frame.t, hard_change=shot_start or sudden)
        # the picture changed but the text did not (a speaker inset, camera motion): read less often
        self._backoff = 1 if text_changed else min(_MAX_BACKOFF, self._backoff * 2)
        ctx.report("ocr", frame.t)

    def _read(self, frame: SampledFrame, thumb: Any, cfg: Any) -> list[TextLine]:
        """The lines on ``frame``: those of an earlier read of the same picture, else read where the
        picture changed since the last read (or whole), keeping the lines elsewhere."""
        incremental = bool(cfg.ocr_incremental)
        # how far the picture is from each earlier read (once: for recalling one and for the nearest)
        apart = [changed_fraction(thumb, r.thumb) for r in self._reads] if incremental else []
        if incremental:
            seen = next((r for r, f in zip(reversed(self._reads), reversed(apart))
                         if f < float(cfg.ocr_change_threshold)), None)
            if seen is not None:
                self.frames_recalled += 1
                return seen.lines
        image, _scale = frame.bgr(int(cfg.ocr_max_side))
        self._frame_size = (image.shape[1], image.shape[0])
        grey = grey_view(image) if incremental else None
        # the nearest earlier read: its lines stand where the picture did not change since
        last = (self._reads[apart.index(min(apart))] if apart
                else (self._reads[-1] if self._reads and not incremental else None))
        regions = (changed_regions(grey, last.grey, self._frame_size, last.lines)
                   if incremental and last is not None else None)
        previous = last.lines if last is not None else []
        lines = [
            ln
            for ln in self._ocr.read(image, previous=previous, regions=regions)
            if ln.confidence >= float(cfg.ocr_min_confidence) and sum(ch.isalnum() for ch in ln.text) >= _MIN_ALNUM
        ]
        self.frames_ocred += 1
        self._reads = (self._reads + [_Read(thumb, grey, lines)])[-_RECALL:]
        return lines

    def _update(self, lines: list[TextLine], t: float, hard_change: bool) -> bool:
        """Match ``lines`` to the tracks on screen; True if a line appeared or went.

        A line missing from one read (detection flicker on small text) stays open and
        continues if it is back in the next read (within ``_FLICKER_SECONDS``); it ends after two misses, or at once
        when the picture changed abruptly (a cut, a slide change).
        """
        unmatched = list(self._active)
        new = closed = 0
        still: list[_Track] = []
        for line in lines:
            key = normalise(line.text)
            match = next((tr for tr in unmatched if _same_line(tr.key, key)), None)
            if match is not None and match.misses and t - match.last_seen > _FLICKER_SECONDS:
                unmatched.remove(match)  # gone for a while (another slide in between): a new appearance
                self._done.append((match, match.last_seen + _CHECK_STEP))
                closed += 1
                match = None
            if match is None:
                new += 1
                still.append(_Track(key, line, t, t, variants={line.text}))
            else:
                unmatched.remove(match)
                match.see(line, t)
                still.append(match)
        for gone in unmatched:
            gone.misses += 1
            if hard_change or gone.misses >= 2:
                self._done.append((gone, min(t, gone.last_seen + _CHECK_STEP)))
                closed += 1
            else:
                still.append(gone)
        self._active = still
        return bool(new or closed)

    def run(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
        end_of_video = max(video.duration, 0.0)
        for track in self._active:
            self._done.append((track, max(track.start, min(end_of_video or 1e12, track.last_seen + _CHECK_STEP))))
        self._active = []
        groups: dict[tuple[float, float], list[_Track]] = {}
        for track, end in self._done:
            groups.setdefault((round(track.start, 3), round(end, 3)), []).append(track)
        w, h = self._frame_size
        producer = ctx.producers["ocr"]
        for (start, end), tracks in sorted(groups.items()):
            tracks.sort(key=lambda tr: (round(tr.line.top / 12), tr.line.left))
            yield Segment(
                video_id=video.video_id,
                modality="ocr",
                start=start,
                end=max(end, start),
                text="\n".join(restore_spaces(tr.line.text) for tr in tracks),
                producer=producer,
                uri=video.uri,
                meta={
                    "lines": [
                        {
                            "text": restore_spaces(tr.line.text),
                            "raw": tr.line.text,
                            "confidence": round(tr.line.confidence, 3),
                            "box": [[round(x / max(w, 1), 4), round(y / max(h, 1), 4)] for x, y in tr.line.box],
                            "frames": tr.frames,
                            "variants": sorted(tr.variants - {tr.line.text})[:5],
                        }
                        for tr in tracks
                    ],
                    "language": text_language("\n".join(restore_spaces(tr.line.text) for tr in tracks)),
                },
            )
        self._done = []
