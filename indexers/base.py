"""The indexer seam and the per-video context passed to every indexer."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, runtime_checkable

from vrag.config import Config
from vrag.schema import Segment, VideoRef

__all__ = ["Indexer", "IndexContext", "Progress"]

#: progress(stage, done, total): ``done``/``total`` in seconds of media for media stages.
Progress = Callable[[str, float, float], None]


@runtime_checkable
class Indexer(Protocol):
    name: str
    version: str
    modality: str

    def index(self, video: VideoRef, ctx: "IndexContext") -> Iterator[Segment]: ...


@dataclass
class IndexContext:
    """What one video's indexers share: config, progress, shots found so far, warnings."""

    cfg: Config
    video: VideoRef
    #: the knowledge-base directory (for files such as keyframe thumbnails)
    data_dir: str = "."
    progress: Progress = lambda stage, done, total: None
    shots: list[tuple[float, float]] = field(default_factory=list)
    #: cut times found so far during the frame pass (the shot indexer appends as it goes)
    cuts: list[float] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    producers: dict[str, str] = field(default_factory=dict)
    #: wall-clock seconds spent per stage (for summaries and benchmarks)
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started

    def warn(self, stage: str, message: str) -> None:
        """Something worth telling that leaves the video fully indexed (e.g. no audio track)."""
        self.warnings.append(f"{stage}: {message}")

    def fail(self, stage: str, message: str) -> None:
        """Part of the video could not be indexed: it ends as ``partial`` and is retried next run."""
        self.errors.append(f"{stage}: {message}")

    def failed_stages(self) -> set[str]:
        from vrag.stages import owner

        return {stage for message in self.errors for stage in owner(message)}

    def check_complete(self, stage: str, decoded_until: float) -> None:
        """Flag media that stops well before its stated duration (a truncated or damaged file)."""
        duration = self.video.duration
        if duration > 0 and decoded_until < duration - max(2.0, 0.02 * duration):
            self.fail(stage, f"media ends early (truncated or damaged): decoded {decoded_until:.1f}s of {duration:.1f}s")

    def report(self, stage: str, done: float) -> None:
        self.progress(stage, min(done, self.video.duration or done), self.video.duration)

    def wants(self, stage: str) -> bool:
        return stage in self.cfg.stages

    def backend(self, kind: str) -> Any:
        from vrag.backends import get_backend

        return get_backend(kind, self.cfg)
