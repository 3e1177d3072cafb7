"""The per-video job: run the stages one video needs and collect what they found.

One decode pass feeds every stage that looks at pictures; then each stage's ``run`` in
order: stages that read the file first, then (after ``before_derived``, the check that the
file did not change while it was read) the derived stages, after their inputs. With
``index_parallel`` the stages that read the file but not its pictures (speech, audio events)
run in a second lane beside the decode pass, so both cores work: the models release the
interpreter while they compute. Each lane has its own view of the context (its own
``stage`` and timings, merged after), sharing the records, problems and producers. ``finish``
follows, and ``close`` is always called. A stage that raises produced nothing: its stored
records stay, and so does its place in the plan for the next run. The failure is recorded
with the stage it belongs to (:class:`~vrag.indexers.base.Problem`).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

from .errors import (
    ConfigError, MissingDependencyError, ModelMismatchError, StageError, StoreUnreachableError, StoreWriteError,
    VragError,
)
from .indexers.base import IndexContext, Stage
from .media.frames import FrameStream
from .schema import Segment

__all__ = ["VideoJob", "JobOutcome", "FATAL"]

log = logging.getLogger("vrag.pipeline")

#: Errors that are about the setup, not one file: they stop the whole run.
FATAL = (ConfigError, MissingDependencyError, ModelMismatchError, StoreWriteError, StoreUnreachableError)


@dataclass
class JobOutcome:
    """What one video's job found."""

    ctx: IndexContext
    #: new records of the stages that ran
    records: list[Segment] = field(default_factory=list)
    #: stages of the plan that ran to the end (their records replace the stored ones)
    ran: list[str] = field(default_factory=list)
    #: stages whose work is not complete: they raised, or reported a problem
    failed: set[str] = field(default_factory=set)


class VideoJob:
    """Runs ``need`` (plus ``helpers``, whose work the others use) on ``ctx.video``."""

    def __init__(self, stages: Mapping[str, type[Stage]], need: Sequence[str], helpers: Sequence[str],
                 ctx: IndexContext):
        self.need = list(need)
        self.ctx = ctx
        self.stages = [stages[name]() for name in stages if name in need or name in helpers]
        self.crashed: set[str] = set()
        self.records: list[Segment] = []

    def run(self, before_derived: Callable[[], None]) -> JobOutcome:
        ctx = self.ctx
        ctx.records = self.current
        try:
            live = [st for st in self.stages if self._call(st, st.setup, ctx)]
            framed = [st for st in live if st.wants_frames()]
            first = [st for st in live if not st.reads]
            aside = [st for st in first if st not in framed] if self._parallel(framed) else []
            self._first_pass(framed, [st for st in first if st not in aside], aside)
            before_derived()  # every read of the file is done
            for st in live:
                if st.reads:
                    self._run(st)
            for st in live:
                if st.name not in self.crashed:
                    self._call(st, st.finish, ctx)
        finally:
            for st in self.stages:
                try:
                    st.close()
                except Exception:  # a stage that cannot let go must not hide what happened
                    log.exception("closing stage %s", st.name)
        ran = [name for name in self.need if name not in self.crashed]
        return JobOutcome(ctx, self.records, ran, self.crashed | ctx.failed_stages())

    def _parallel(self, framed: list[Stage]) -> bool:
        return bool(self.ctx.cfg.index_parallel) and bool(framed) and self.ctx.video.has_video

    def _first_pass(self, framed: list[Stage], then: list[Stage], aside: list[Stage]) -> None:
        """The decode pass, then the stages that read the file; ``aside`` in a second lane meanwhile."""
        if not aside:
            self._frame_pass(framed)
            for st in then:
                self._run(st)
            return
        lane = replace(self.ctx, timings={}, stage="")
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vrag-audio") as pool:
            running = pool.submit(lambda: [self._run(st, lane) for st in aside])
            try:
                self._frame_pass(framed)
                for st in then:
                    self._run(st)
            finally:
                running.result()  # waits; re-raises what stopped the lane (a fatal error)
                for name, seconds in lane.timings.items():
                    self.ctx.timings[name] = self.ctx.timings.get(name, 0.0) + seconds

    def current(self, modality: str) -> list[Segment]:
        """The records of ``modality`` as they stand after this run: fresh if its stage ran, else stored."""
        if any(modality in st.writes and st.name in self.ctx.ran for st in self.stages):
            return [s for s in self.records if s.modality == modality]
        return self.ctx.stored(modality)

    def _call(self, st: Stage, hook: Callable[..., Any], *args: Any, ctx: IndexContext | None = None) -> bool:
        """Call one hook of ``st`` (in the lane of ``ctx``); a failure (other than a fatal one) crashes the stage."""
        ctx = ctx or self.ctx
        ctx.stage = st.name
        try:
            hook(*args)
            return True
        except FATAL:
            raise
        except VragError as exc:
            self._crash(st, exc)
            return False
        finally:
            ctx.stage = ""

    def _crash(self, st: Stage, exc: VragError) -> None:
        failure = exc if isinstance(exc, StageError) else StageError(st.name, str(exc))
        self.crashed.add(failure.stage)
        self.ctx.fail(st.title(), failure.message, (failure.stage,))

    def _run(self, st: Stage, ctx: IndexContext | None = None) -> None:
        ctx = ctx or self.ctx
        if st.name in self.crashed:
            return

        def collect() -> None:
            with ctx.timed(st.title()):
                found = list(st.run(ctx.video, ctx))
            stray = sorted({s.modality for s in found} - set(st.writes))
            if stray:
                raise StageError(st.name, f"made records of {stray}, which it does not declare in writes")
            self.records.extend(found)
            if st.name in self.need:
                ctx.ran.add(st.name)

        self._call(st, collect, ctx=ctx)

    def _frame_pass(self, consumers: list[Stage]) -> None:
        """Decode the video once, handing frames to ``consumers``. Timed as "frames": decoding (and
        shot detection); the time stages account for themselves in it (OCR, keyframes) is theirs."""
        timings = self.ctx.timings
        earlier = dict(timings)
        with self.ctx.timed("frames"):
            self._decode(consumers)
        inside = sum(v - earlier.get(k, 0.0) for k, v in timings.items() if k != "frames")
        timings["frames"] = max(0.0, timings["frames"] - inside)

    def _decode(self, consumers: list[Stage]) -> None:
        ctx, video = self.ctx, self.ctx.video
        if not consumers or not video.has_video:
            return
        stream = FrameStream(video.abs_path, float(ctx.cfg.scene_fps), bool(ctx.cfg.frames_skip_still))
        active = list(consumers)
        for frame in stream:
            for st in list(active):
                if not self._call(st, st.on_frame, frame, ctx):
                    active.remove(st)
            ctx.report("frames", frame.t)
        if video.duration <= 0 and stream.last_time > 0:
            video.duration = stream.last_time
        owners = tuple(st.name for st in consumers)
        if stream.error:
            ctx.fail("frames", stream.error, owners)
        else:
            ctx.check_complete("frames", stream.last_time + 1.0 / max(video.fps, 1.0), owners)
