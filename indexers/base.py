"""The stage seam: :class:`Stage` (one kind of understanding) and the per-video :class:`IndexContext`."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable, Iterator

from vrag.config import Config
from vrag.media.frames import SampledFrame
from vrag.schema import Segment, VideoRef

__all__ = ["Stage", "IndexContext", "Problem", "Progress"]

#: progress(stage, done, total): ``done``/``total`` in seconds of media for media stages.
Progress = Callable[[str, float, float], None]


class Stage:
    """One indexing stage. Subclass it, declare it, register it with ``@register("stage", name)``
    (or the ``vrag.stages`` entry-point group); a run derives everything else from the declarations.

    One instance indexes one video: ``setup`` once, ``on_frame`` for every sampled frame of the
    shared decode (only stages that override it get frames), ``run`` for its records, ``finish``
    after every stage ran, ``close`` always, even after a failure.
    """

    #: its name in the ``stages`` setting, the stored recipe and the ``stage`` of its failures
    name: ClassVar[str] = ""
    #: bump to redo this stage's records in every knowledge base
    version: ClassVar[str] = "1"
    #: prefix of its problem messages ("ocr: ...") and its key in per-stage timings; default: ``name``
    label: ClassVar[str] = ""
    #: settings in its fingerprint (a changed value redoes the stage)
    settings: ClassVar[tuple[str, ...]] = ()
    #: settings that count only when another has a value: ``((setting, value, (more settings...)), ...)``
    settings_when: ClassVar[tuple[tuple[str, str, tuple[str, ...]], ...]] = ()
    #: record modalities it owns: replaced (only) when it runs
    writes: ClassVar[tuple[str, ...]] = ()
    #: stages whose records it is built from (a derived stage: redone whenever one of them is)
    reads: ClassVar[tuple[str, ...]] = ()
    #: stages whose work in this run it needs (run alongside it when configured, e.g. keyframes: shots)
    uses: ClassVar[tuple[str, ...]] = ()
    #: not a choice of the ``stages`` setting: runs whenever a stage it reads is configured
    implicit: ClassVar[bool] = False

    @classmethod
    def version_tag(cls) -> str:
        """The version in its fingerprint and its records' producer ("ocr-2"; overridable)."""
        return f"{cls.title()}-{cls.version}"

    @classmethod
    def title(cls) -> str:
        """Its label, else its name."""
        return cls.label or cls.name

    @classmethod
    def fingerprint_extra(cls, cfg: Config, media_path: str) -> dict[str, Any]:
        """More fingerprint parts from the file's surroundings (e.g. a subtitle file next to it)."""
        return {}

    @classmethod
    def wants_frames(cls) -> bool:
        """Whether it looks at pictures: true when the subclass overrides :meth:`on_frame`."""
        return cls.on_frame is not Stage.on_frame

    def setup(self, ctx: "IndexContext") -> None:
        """Load what it needs (models load once per process through the backends)."""

    def on_frame(self, frame: SampledFrame, ctx: "IndexContext") -> None:
        """One sampled frame of the shared decode."""

    def run(self, video: VideoRef, ctx: "IndexContext") -> Iterable[Segment]:
        """This video's records (of the ``writes`` modalities)."""
        return ()

    def finish(self, ctx: "IndexContext") -> None:
        """After every stage of this video ran, before its records are written."""

    def close(self) -> None:
        """Release what ``setup`` took; called whatever happened."""


@dataclass(frozen=True)
class Problem:
    """A problem of one video: its stored text ("ocr: ...") and the stages it belongs to."""

    text: str
    stages: tuple[str, ...]


@dataclass
class IndexContext:
    """What one video's stages share: config, progress, shots found so far, problems, records."""

    cfg: Config
    video: VideoRef
    #: the knowledge-base directory (for files such as keyframe thumbnails)
    data_dir: str = "."
    progress: Progress = lambda stage, done, total: None
    shots: list[tuple[float, float]] = field(default_factory=list)
    #: cut times found so far during the frame pass (the shot stage appends as it goes)
    cuts: list[float] = field(default_factory=list)
    failures: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    producers: dict[str, str] = field(default_factory=dict)
    #: wall-clock seconds spent per stage (for summaries and benchmarks)
    timings: dict[str, float] = field(default_factory=dict)
    #: the stage whose hook runs now: problems it reports are its own
    stage: str = ""
    #: stages that ran (successfully) in this job so far
    ran: set[str] = field(default_factory=set)
    #: ``records(modality)``: the records as they stand after this run (set by the job)
    records: Callable[[str], list[Segment]] = lambda modality: []
    #: ``stored(modality)``: the records stored before this run (set by the job)
    stored: Callable[[str], list[Segment]] = lambda modality: []
    #: ``fetch(paths)``: make stored files (thumbnails) local before reading them (set by the job)
    fetch: Callable[[list[str]], None] = lambda paths: None
    #: the knowledge-graph extraction of this video (mentions, relations), written with its records
    extraction: tuple[list[Any], list[Any]] | None = None

    @property
    def errors(self) -> list[str]:
        return [p.text for p in self.failures]

    @property
    def warnings(self) -> list[str]:
        return [p.text for p in self.notes]

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started

    def warn(self, stage: str, message: str, owners: tuple[str, ...] | None = None) -> None:
        """Something worth telling that leaves the video fully indexed (e.g. no audio track)."""
        self.notes.append(Problem(f"{stage}: {message}", owners or (self.stage or stage,)))

    def fail(self, stage: str, message: str, owners: tuple[str, ...] | None = None) -> None:
        """Part of the video could not be indexed: it ends as ``partial`` and its stage (``owners``;
        default: the stage running now) is retried next run."""
        self.failures.append(Problem(f"{stage}: {message}", owners or (self.stage or stage,)))

    def failed_stages(self) -> set[str]:
        return {stage for problem in self.failures for stage in problem.stages}

    def check_complete(self, stage: str, decoded_until: float, owners: tuple[str, ...] | None = None) -> None:
        """Flag media that stops well before its stated duration (a truncated or damaged file)."""
        duration = self.video.duration
        if duration > 0 and decoded_until < duration - max(2.0, 0.02 * duration):
            self.fail(stage, f"media ends early (truncated or damaged): decoded {decoded_until:.1f}s of {duration:.1f}s",
                      owners)

    def report(self, stage: str, done: float) -> None:
        self.progress(stage, min(done, self.video.duration or done), self.video.duration)

    def wants(self, stage: str) -> bool:
        return stage in self.cfg.stages

    def backend(self, kind: str) -> Any:
        from vrag.backends import get_backend

        return get_backend(kind, self.cfg)
