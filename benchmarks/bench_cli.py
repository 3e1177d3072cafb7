"""Cold CLI times: ``python -m benchmarks.bench_cli --db KB --out BENCHMARKS.md``.

Each command runs as a fresh process (a new ``vrag`` from a shell: imports, model loading and the
work itself), ``--runs`` times, the variants interleaved so that a noisy moment hits both alike:

* **before**: ``--before PYTHON``, an interpreter whose ``vrag`` is the code before the change (e.g. the
  main checkout's venv); without it, this code with the text embedder through sentence-transformers
  (``--set text_embedder=minilm-torch``, the embedder path every command took before issue 20);
* **after**: this code, the same all-MiniLM-L6-v2 on ONNX Runtime (no torch import).

The knowledge base is copied to a temp directory first (the original is never opened). The ONNX export
is made before timing (a one-off on first use, like the Whisper base join). Files come from the OS page
cache after the first run: "cold" means a fresh interpreter, not a cold disk. Writes the ``bench-cli`` section.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Clock, Section, command_line, measured

__all__ = ["SECTION", "main", "report", "commands"]

SECTION = Section("<!-- bench-cli:begin -->", "<!-- bench-cli:end -->")
#: variant -> (interpreter, extra options); "before" is replaced by ``--before PYTHON`` when given
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "before": (sys.executable, ["--set", "text_embedder=minilm-torch"]),
    "after": (sys.executable, []),
}


def commands(db: str, query: str, question: str) -> dict[str, list[str]]:
    """The timed command lines (without the variant's options)."""
    return {
        "vrag --help": ["--help"],
        "vrag status": ["status", "--db", db],
        f'vrag search "{query}"': ["search", query, "--db", db],
        f'vrag ask "{question}"': ["ask", question, "--db", db],
    }


def _run(python: str, argv: list[str], cwd: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one fresh ``vrag`` process, started in ``cwd`` (not a
    checkout: ``python -m vrag`` would import the vrag of the current directory)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([python, "-m", "vrag", *argv], capture_output=True, text=True, timeout=600, cwd=cwd)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"vrag {' '.join(argv)} failed: {out.stderr.strip()}")
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


Times = dict[str, dict[str, list[tuple[float, float]]]]


def measure(db: str, query: str, question: str, runs: int) -> tuple[Times, Clock]:
    """(wall, CPU) seconds per run, by command and variant; the clock says how busy the machine was meanwhile."""
    cmds = commands(db, query, question)
    cwd = str(Path(db).parent)
    times: Times = {c: {v: [] for v in VARIANTS} for c in cmds}
    for python, extra in VARIANTS.values():  # warm-up, untimed: the ONNX export, the page cache
        _run(python, cmds[f'vrag search "{query}"'] + extra, cwd)
    clock = Clock()
    with clock:
        for _ in range(runs):
            for name, argv in cmds.items():
                for variant, (python, extra) in VARIANTS.items():
                    times[name][variant].append(_run(python, argv + extra, cwd))
    return times, clock


def report(times: Times, clock: Clock, runs: int, command: str, before: str) -> str:
    def cell(runs_: list[tuple[float, float]]) -> str:
        if not runs_:
            return "same code path"
        wall = [w for w, _ in runs_]
        cpu = statistics.median(c for _, c in runs_)
        return f"{statistics.median(wall):.2f} s ({min(wall):.2f}–{max(wall):.2f}); CPU {cpu:.2f} s"

    rows = [f"| `{name}` | {cell(by['before'])} | {cell(by['after'])} |" for name, by in times.items()]
    busy = clock.others / clock.wall if clock.wall else 0.0
    return SECTION.render([
        "## Cold CLI: a fresh `vrag` process per command",
        "",
        measured(command),
        "",
        f"Median (min–max) wall time of {runs} runs each, from process start to exit, the two variants "
        "interleaved, and the median CPU time (user + system) of those processes, which contention inflates "
        f"less. *before*: {before}; *after*: this code (the text embedder on ONNX Runtime, same vectors: "
        "cosine >= 0.9999, tests/test_text_embed_onnx.py; spaCy without torch; LanceDB's REST namespace "
        "client deferred).",
        "",
        "| command | before | after |",
        "|---|---|---|",
        *rows,
        "",
        f"Contention: other processes used {clock.others:.0f} CPU-seconds during the {clock.wall:.0f} s of runs "
        f"({busy:.1f} of the {_cores()} cores on average){'; the machine was shared' if busy > 0.2 else ''}.",
    ])


def _head(python: str) -> str:
    """The git commit of the checkout that ``python`` imports vrag from (or its path)."""
    where = subprocess.run([python, "-c", "import vrag, os; print(os.path.dirname(os.path.dirname(vrag.__file__)))"],
                           capture_output=True, text=True, cwd=tempfile.gettempdir()).stdout.strip()
    head = subprocess.run(["git", "-C", where, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return f"{where} at {head.stdout.strip()}" if head.returncode == 0 else where


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_cli", description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, help="a knowledge base to copy and query (e.g. /tmp/vrag-bench/eval)")
    p.add_argument("--query", default="weather forecast for Toronto", help="the search query")
    p.add_argument("--question", default="Which university is the colleague who ran the twin study at?",
                   help="the question")
    p.add_argument("--runs", type=int, default=5, help="runs per command and variant (default 5)")
    p.add_argument("--before", metavar="PYTHON", help="interpreter whose vrag is the code before (e.g. the main "
                   "checkout's .venv/bin/python); default: this code with --set text_embedder=minilm-torch")
    p.add_argument("--out", type=Path, help="markdown file whose bench-cli section is replaced (e.g. BENCHMARKS.md)")
    args = p.parse_args(argv)
    if args.before:
        VARIANTS["before"] = (args.before, [])
        before = f"the code that `{args.before} -m vrag` runs (`{_head(args.before)}`)"
    else:
        before = "this code with the text embedder on sentence-transformers/torch (`--set text_embedder=minilm-torch`)"
    with tempfile.TemporaryDirectory(prefix="vrag-bench-cli-") as tmp:
        db = str(Path(tmp) / "kb")
        shutil.copytree(args.db, db)
        times, clock = measure(db, args.query, args.question, args.runs)
    SECTION.publish(report(times, clock, args.runs, command_line("benchmarks.bench_cli", argv), before), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
