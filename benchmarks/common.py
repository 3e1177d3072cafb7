"""What the benchmarks share: the machine header, the command line, timing, child processes,
generated clips, and writing a benchmark's section of BENCHMARKS.md.

A section is the text between its two markers (``<!-- bench-ray:begin -->`` ...
``<!-- bench-ray:end -->``); writing it again replaces it in place, and a file without it gets
it appended. The markers are part of the file format: keep them as they are.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["HEADER", "PACKAGES", "Clock", "Section", "TimedEmbed", "child_json", "command_line", "installed", "machine",
           "make_clips", "measured", "rss_mb", "stamp"]

#: The start of a BENCHMARKS.md written from scratch.
HEADER = "# vrag benchmarks\n\nNumbers come from `make bench`; each section names the machine and the command.\n"
#: Packages whose versions the machine header names (those installed).
PACKAGES = ("lancedb", "faster-whisper", "ctranslate2", "rapidocr-onnxruntime", "onnxruntime",
            "sentence-transformers", "torch", "av", "scenedetect")


# -- the header ------------------------------------------------------------------------------
def machine() -> str:
    """Cores, CPU model, RAM, OS, Python and the versions of :data:`PACKAGES`, on one line."""
    cpu = "unknown CPU"
    try:
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(f"{pkg} {metadata.version(pkg)}" for pkg in PACKAGES if installed(pkg))
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}; {versions}")


def installed(pkg: str) -> bool:
    """Whether the distribution ``pkg`` is installed."""
    try:
        metadata.version(pkg)
        return True
    except metadata.PackageNotFoundError:
        return False


def stamp() -> str:
    """Now, UTC, to the minute (``2026-11-24 07:15``)."""
    return f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}"


def measured(command: str) -> str:
    """The opening of a section: ``Measured <date> UTC with `<command>` on: <machine>`` (no full stop)."""
    return f"Measured {stamp()} UTC with `{command}` on: {machine()}"


def command_line(module: str, argv: Sequence[str] | None = None) -> str:
    """How the benchmark was started: ``python -m <module> <args>`` (``argv`` defaults to sys.argv[1:])."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python", "-m", module, *(shlex.quote(a) for a in args)])


# -- BENCHMARKS.md sections ------------------------------------------------------------------
@dataclass(frozen=True)
class Section:
    """One benchmark's section of BENCHMARKS.md, known by its begin and end markers."""

    begin: str
    end: str

    def render(self, lines: Sequence[str]) -> str:
        """The section's text: the markers around ``lines``."""
        return "\n".join([self.begin, *lines, self.end])

    def add_image(self, text: str, alt: str, path: Path) -> str:
        """``text`` (a rendered section) with an image link as its last line."""
        return text.replace(self.end, f"\n![{alt}]({path.as_posix()})\n{self.end}")

    def write(self, out: Path, text: str) -> None:
        """Replace this section of ``out`` with ``text`` (appended when missing; the file is made when absent)."""
        old = out.read_text(encoding="utf-8") if out.exists() else HEADER
        if self.begin in old and self.end in old:
            new = old[: old.index(self.begin)] + text + old[old.index(self.end) + len(self.end):]
        else:
            new = old.rstrip() + "\n\n" + text + "\n"
        out.write_text(new, encoding="utf-8")

    def publish(self, text: str, out: Path | None, echo: bool = True) -> None:
        """Print the section (``echo``) and, with ``out``, write it there."""
        if echo:
            print(text)
        if out:
            self.write(out, text)
            print(f"wrote {out}", file=sys.stderr)


# -- measuring -------------------------------------------------------------------------------
class Clock:
    """Wall time, this process's CPU time, and the CPU time other processes took meanwhile
    (from /proc/stat), summed over the timed spans: on a shared machine the last says how
    much of the wall time is contention."""

    def __init__(self) -> None:
        self.wall = self.cpu = self.others = 0.0

    @staticmethod
    def _busy() -> float:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return 0.0
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> "Clock":
        self._start = (time.perf_counter(), time.process_time(), self._busy())
        return self

    def __exit__(self, *exc: Any) -> None:
        wall, cpu, busy = time.perf_counter(), time.process_time(), self._busy()
        self.wall += wall - self._start[0]
        self.cpu += cpu - self._start[1]
        self.others += max(0.0, (busy - self._start[2]) - (cpu - self._start[1]))

    def to_json(self) -> dict[str, float]:
        return {"wall": self.wall, "cpu": self.cpu, "others": self.others}


class TimedEmbed:
    """``embed(texts)`` that also sums the seconds it took and the texts it embedded (``reset`` zeroes both)."""

    def __init__(self, embed: Callable[[Any], Any]) -> None:
        self._embed = embed
        self.seconds, self.count = 0.0, 0

    def reset(self) -> None:
        self.seconds, self.count = 0.0, 0

    def __call__(self, texts: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._embed(texts)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += len(texts)


def rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_json(module: str, args: Sequence[str], quiet: bool = False) -> Any:
    """Run ``python -m <module> <args>`` in a fresh process (offline models) and return the JSON
    of its last stdout line. ``quiet``: its stderr is kept and shown only when it fails."""
    out = subprocess.run(
        [sys.executable, "-m", module, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE if quiet else None,
        text=True, check=False, env=dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error"),
    )
    if out.returncode != 0:
        tail = f":\n{out.stderr[-3000:]}" if quiet else ""
        raise SystemExit(f"benchmark child {module} {' '.join(args)} failed (exit {out.returncode}){tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_clips(folder: Path, count: int, seconds: float) -> float:
    """``count`` generated lectures of ``seconds`` each in ``folder`` (``clip_NN.mp4``, made once and
    kept); returns their total duration."""
    from tests.support.synth import lecture_slides, make_lecture
    from vrag.media.probe import probe

    folder.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for i in range(count):
        path = folder / f"clip_{i:02d}.mp4"
        if not path.exists():
            make_lecture(lecture_slides(1, seconds, seed=i), path)
        total += probe(str(path)).duration
    return total
