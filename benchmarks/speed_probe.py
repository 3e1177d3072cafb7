"""Where an index run's time and memory go, for ``benchmarks.bench_speed``'s profile of the lecture.

:class:`Probe` (in a benchmark's child process only) times every model load (each ``Lazy`` value made
for the first time: the model, with the imports it pulls in) with the RSS it added, and samples the
process's RSS every 20 ms, keeping the highest value seen while each stage (``IndexContext.timed``)
or load ran.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ["Probe", "rss_now"]


def rss_now() -> float:
    """Resident set size of this process in MB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Probe:
    """Instruments model loads and stages from construction until :meth:`finish`."""

    def __init__(self) -> None:
        import vrag.backends as backends
        import vrag.indexers.base as base
        import vrag.indexers.graph_extract as extract

        self.loads: list[tuple[str, float, float]] = []
        self.peaks: dict[str, float] = {}
        self._labels = ["start"]
        self._stop = threading.Event()
        self._undo: list[tuple[Any, str, Any]] = []
        self._patch(backends.Lazy, "get", self._timed_get(backends.Lazy.get))
        self._patch(base.IndexContext, "timed", self._labelled(base.IndexContext.timed))
        self._patch(extract, "load_nlp", self._timed_nlp(extract))
        self._thread = threading.Thread(target=self._sample, name="vrag-probe", daemon=True)
        self._thread.start()

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        self._undo.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    def _timed_get(self, get: Any) -> Any:
        probe = self

        def timed_get(lazy: Any) -> Any:
            if lazy._value is not None:
                return get(lazy)
            name = getattr(lazy._create, "__qualname__", "model").split(".")[0]
            return probe._load(name, lambda: get(lazy))

        return timed_get

    def _load(self, name: str, make: Any) -> Any:
        before, started = rss_now(), time.perf_counter()
        with self._label(f"load {name}"):
            value = make()
        self.loads.append((name, time.perf_counter() - started, rss_now() - before))
        return value

    def _timed_nlp(self, extract: Any) -> Any:
        load = extract.load_nlp

        def load_nlp() -> Any:
            return load() if extract._NLP else self._load("spaCy", load)

        return load_nlp

    def _labelled(self, timed: Any) -> Any:
        probe = self

        @contextmanager
        def labelled(ctx: Any, stage: str) -> Iterator[None]:
            with probe._label(stage), timed(ctx, stage):
                yield

        return labelled

    @contextmanager
    def _label(self, name: str) -> Iterator[None]:
        self._labels.append(name)
        try:
            yield
        finally:
            self._labels.remove(name)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            rss, label = rss_now(), self._labels[-1]
            self.peaks[label] = max(self.peaks.get(label, 0.0), rss)

    def finish(self) -> dict[str, Any]:
        """Stop, undo the instrumentation; the loads (name, seconds, MB added) and the peak RSS per label."""
        self._stop.set()
        self._thread.join()
        for owner, name, value in reversed(self._undo):
            setattr(owner, name, value)
        return {"loads": [(n, round(s, 2), round(mb)) for n, s, mb in self.loads],
                "peaks": {k: round(v) for k, v in self.peaks.items() if k != "start"}}
