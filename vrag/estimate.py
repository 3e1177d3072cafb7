"""What indexing will cost, before any work starts (``vrag index --estimate``).

Each file is found and probed as indexing would (no model loads, nothing is written). A file
whose stored recipe already matches is "unchanged" (0 s). For the others, the stages the run
would redo are priced per second of media from the default-model figures of BENCHMARKS.md
(2 cores, models loaded): decoding scales with pixels per second, speech with the ASR model,
on-screen text with how much of it changes, which only the run can see, so each estimate is a
range, from slides (little text change) to a screen recording (text changing all the time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable

from .config import Config
from .discover import discover
from .errors import VragError
from .media.probe import probe
from .stages import declared, parse_recipe, plan, wanted

__all__ = ["FileEstimate", "estimate_files", "MODEL_LOAD_SECONDS"]

#: Loading the default models once per process (bench:index).
MODEL_LOAD_SECONDS = 4.6
#: Seconds of work per second of media, per stage (bench:index, bench:index-eval; 2 cores).
#: frames: decode + shot detection of 1280x720 at 25 fps, scaled by pixels per second.
_FRAMES_PER_SECOND = 1 / 47
_REFERENCE_PIXEL_RATE = 1280 * 720 * 25
#: on-screen text: (slides, screen recording) — the lecture's slides and the GNOME screencast.
_OCR_PER_SECOND = (1 / 80, 1 / 5)
_KEYFRAMES_PER_SECOND = (1 / 900, 1 / 25)
#: speech by model (Whisper base: the lecture's 21x; tiny.en about twice as fast); a sung or
#: non-English track costs more (a second pass for sung regions, translation).
_ASR_PER_SECOND = {"base": 1 / 21, "tiny.en": 1 / 40}
_ASR_OTHER = 1 / 15
_AUDIO_EVENTS_PER_SECOND = 1 / 211
#: embedding, the graph, captions, units, profile, writing: per second of media, and per file.
_REST_PER_SECOND = 1 / 150
_PER_FILE_SECONDS = 1.5


@dataclass
class FileEstimate:
    """The expected indexing time of one file: ``low``..``high`` seconds (``expected`` between)."""

    path: str
    status: str  # todo | unchanged | failed
    duration: float = 0.0
    low: float = 0.0
    high: float = 0.0
    stages: list[str] = field(default_factory=list)
    reason: str = ""
    #: True when every configured stage runs (a new or changed file), False when only some are redone
    whole: bool = True

    @property
    def expected(self) -> float:
        """The middle of the range."""
        return (self.low + self.high) / 2

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "duration": round(self.duration, 3),
                "seconds": round(self.expected, 1), "low": round(self.low, 1), "high": round(self.high, 1),
                "stages": self.stages, "whole": self.whole, "reason": self.reason}


def estimate_files(paths: Iterable[str | os.PathLike[str]], cfg: Config,
                   stored: Iterable[dict[str, Any]] = ()) -> list[FileEstimate]:
    """An estimate for every file under ``paths``; ``stored``: the knowledge base's video rows."""
    stages = declared()
    by_path: dict[str, list[dict[str, Any]]] = {}
    for row in stored:
        by_path.setdefault(row["abs_path"], []).append(row)
    files, skipped = discover(paths)
    out = [FileEstimate(s.path, "failed", reason=s.reason) for s in skipped]
    for found in files:
        try:
            st = os.stat(found.abs_path)
            want = wanted(cfg, found.abs_path, stages)
            same = next((r for r in by_path.get(found.abs_path, ()) if (r["size"], r["mtime_ns"]) ==
                         (st.st_size, st.st_mtime_ns) and r["status"] == "indexed"), None)
            need = plan(stages, want, parse_recipe(same["recipe"]) if same else {})
            if same is not None and not need:
                out.append(FileEstimate(found.path, "unchanged", float(same["duration"] or 0.0)))
                continue
            video = probe(found.abs_path, given=found.path)
        except (VragError, OSError) as exc:
            out.append(FileEstimate(found.path, "failed", reason=str(exc)))
            continue
        low, high = _price(video, need, cfg)
        out.append(FileEstimate(found.path, "todo", video.duration, low, high, need, whole=set(need) == set(want)))
    return out


def _price(video: Any, need: list[str], cfg: Config) -> tuple[float, float]:
    """(low, high) seconds for the stages ``need`` on ``video``."""
    d = max(video.duration, 0.0)
    picture = video.has_video and any(s in need for s in ("shot", "ocr", "frame"))
    pixel_rate = (video.width * video.height * (video.fps or 25.0)) if video.has_video else 0.0
    frames = d * _FRAMES_PER_SECOND * pixel_rate / _REFERENCE_PIXEL_RATE if picture else 0.0
    ocr = [d * c for c in _OCR_PER_SECOND] if video.has_video and "ocr" in need else [0.0, 0.0]
    keyframes = [d * c for c in _KEYFRAMES_PER_SECOND] if video.has_video and "frame" in need else [0.0, 0.0]
    asr_rate = _ASR_PER_SECOND.get(str(cfg.asr_model), _ASR_OTHER)
    sound = [0.0, 0.0]
    if video.has_audio:
        speech = d * asr_rate if "asr" in need else 0.0
        events = d * _AUDIO_EVENTS_PER_SECOND if "audio_event" in need else 0.0
        sound = [speech + events, speech * (_ASR_OTHER / asr_rate if asr_rate > _ASR_OTHER else 1.0) + events]
    rest = d * _REST_PER_SECOND + _PER_FILE_SECONDS
    parallel = bool(cfg.index_parallel) and video.has_video
    out = []
    for i in (0, 1):
        pictures = frames + ocr[i] + keyframes[i]
        # two lanes share two cores: the shorter one overlaps the longer by about half
        both = max(pictures, sound[i]) + 0.5 * min(pictures, sound[i]) if parallel else pictures + sound[i]
        out.append(both + rest)
    return out[0], out[1]
