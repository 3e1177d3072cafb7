"""Indexing speed and memory of screen recordings and of the lecture, each in a fresh process (issue 21).

Each variant runs in its own fresh process with the default models, which indexes the file twice:
first with nothing loaded (the clock starts before the first model loads: what ``vrag index`` on
one file costs), then again into a second knowledge base with the models loaded. Peak RSS is the
process's after the first index. Inputs:

- the screencast: ``../shared/eval/media/gnome_display_settings.webm`` looped 8 times (5 minutes,
  1024x768, no sound), and the single 37 s recording, whose OCR lines are compared with whole-frame
  reads (``ocr_incremental`` off: the reads before issue 21);
- the generated lecture (speech + slides): the default, with ``frames_skip_still`` off (every frame
  decoded) and with ``index_parallel`` on (two lanes). The first index of the default lecture also
  gives the profile: seconds per stage, each model load (seconds, RSS added) and the RSS each stage
  reached.

``--before PATH`` also runs the lecture in the checkout at PATH (its own ``.venv``, its own
``benchmarks.bench_speed --child``, models loaded before the clock, as this benchmark did before):
the code before a change, side by side. Variants alternate (A, B, A, B, ...) so noise falls on all.

    python -m benchmarks.bench_speed --out BENCHMARKS.md [--repeat 2] [--minutes 5] [--before ../main]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from .common import Section, child_json, command_line, measured
from .speed_probe import Probe

__all__ = ["main", "same_lines"]

SECTION = Section("<!-- bench-speed:begin -->", "<!-- bench-speed:end -->")
SCREENCAST = Path("../shared/eval/media/gnome_display_settings.webm")


def _child(video: str, db: str, settings: str) -> dict[str, Any]:
    """In a fresh process: index ``video`` with ``settings`` (k=v,...) cold, then again with the models loaded."""
    import resource
    import time

    probe = Probe()
    from vrag import KnowledgeBase
    from vrag.backends import get_backend

    overrides = dict(kv.split("=", 1) for kv in settings.split(",") if kv)
    started, cpu = time.perf_counter(), time.process_time()
    kb = KnowledgeBase(db, **overrides)
    (result,) = kb.index([video]).results
    cold, cold_cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profile = probe.finish()
    ocr = get_backend("ocr", kb.config)
    counts = (ocr.recognised, ocr.reused, ocr.regions)
    lines = sorted({ln for s in kb.segments(modality="ocr") for ln in s.text.splitlines() if ln.strip()})
    started, cpu = time.perf_counter(), time.process_time()
    (warm,) = KnowledgeBase(db + "-warm", **overrides).index([video]).results
    return {"status": result.status, "duration": result.duration, "seconds": cold, "cpu": cold_cpu,
            "warm_seconds": time.perf_counter() - started, "warm_cpu": time.process_time() - cpu,
            "timings": result.timings, "warm_timings": warm.timings, "peak_rss_mb": peak, "profile": profile,
            "recognised": counts[0], "reused": counts[1], "region_reads": counts[2], "ocr_lines": lines,
            "load": os.getloadavg()[0]}


def same_lines(before: list[str], after: list[str], ratio: float = 0.85) -> tuple[list[str], list[str]]:
    """Lines of ``before`` with no close match in ``after`` (letters and digits compared, case and
    spacing ignored), and the other way round."""
    def norm(text: str) -> str:
        return re.sub(r"[\W_]+", "", text.lower())

    def missing(xs: list[str], ys: list[str]) -> list[str]:
        return [x for x in xs if not any(SequenceMatcher(None, norm(x), norm(y)).ratio() >= ratio for y in ys)]

    return missing(before, after), missing(after, before)


def _looped(work: Path, times: int = 8) -> Path:
    out = work / f"screencast_x{times}.webm"
    if not out.exists():
        listing = work / "loop.txt"
        listing.write_text("".join(f"file '{SCREENCAST.resolve()}'\n" for _ in range(times)))
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                        "-c", "copy", str(out)], check=True)
    return out


def _lecture(work: Path, minutes: float) -> Path:
    from tests.support.synth import lecture_slides, make_lecture

    out = work / f"lecture_{minutes:g}min.mp4"
    if not out.exists():
        make_lecture(lecture_slides(max(1, round(minutes * 2)), 30.0), out)
    return out


def _run(video: Path, tmp: Path, name: str, settings: str, before: Path | None = None) -> dict[str, Any]:
    db = tmp / f"kb-{name}-{len(list(tmp.iterdir()))}"
    args = ["--child", str(video.resolve()), "--db", str(db), "--settings", settings]
    if before is None:
        return child_json("benchmarks.bench_speed", args, quiet=True)
    out = subprocess.run([str(before / ".venv/bin/python"), "-m", "benchmarks.bench_speed", *args], cwd=before,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False,
                         env=dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error"))
    if out.returncode != 0:
        raise SystemExit(f"the lecture in {before} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(label: str, runs: list[dict[str, Any]]) -> str:
    best = min(runs, key=lambda r: r["seconds"])
    d = best["duration"]
    stages = ", ".join(f"{k} {v:.1f}" for k, v in sorted(best["timings"].items(), key=lambda kv: -kv[1])[:5])
    if "warm_seconds" not in best:  # a --before checkout's child: models loaded before its clock
        return (f"| {label} | {d:.0f} s | n/a | {best['seconds']:.1f} s (**{d / best['seconds']:.1f}x**) | "
                f"{best['peak_rss_mb']:.0f} MB | {best['recognised']} / {best['reused']} / {best['region_reads']} | "
                f"{stages} |")
    secs = " / ".join(f"{r['seconds']:.1f}" for r in sorted(runs, key=lambda r: r["seconds"]))
    warm = min(r["warm_seconds"] for r in runs)
    return (f"| {label} | {d:.0f} s | {best['seconds']:.1f} s, CPU {best['cpu']:.0f} s ({secs}) "
            f"**{d / best['seconds']:.1f}x** | {warm:.1f} s (**{d / warm:.1f}x**) | {best['peak_rss_mb']:.0f} MB | "
            f"{best['recognised']} / {best['reused']} / {best['region_reads']} | {stages} |")


def _profile(run: dict[str, Any]) -> list[str]:
    """The first (cold) index of the lecture, stage by stage: where the time and the memory went."""
    p = run["profile"]
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(run["timings"].items(), key=lambda kv: -kv[1]) if v >= 0.05)
    loads = ", ".join(f"{name} {secs:.1f} s (+{mb:.0f} MB)" for name, secs, mb in p["loads"] if secs >= 0.05)
    peaks = ", ".join(f"{k} {v:.0f}" for k, v in p["peaks"].items())
    return [f"Profile of the default lecture's cold index ({run['seconds']:.1f} s, CPU {run['cpu']:.0f} s, peak "
            f"{run['peak_rss_mb']:.0f} MB): stages (model loads included) {stages}; model loads {loads}; "
            f"highest RSS (MB) while each stage or load ran, in order: {peaks}."]


def _variants(args: argparse.Namespace, looped: Path, lecture: Path) -> list[tuple[str, Path, str]]:
    m = f"{args.minutes:g} min"
    return [("screencast x8 (default)", looped, ""),
            ("screencast 37 s, whole-frame reads (before issue 21)", SCREENCAST, "ocr_incremental=false"),
            ("screencast 37 s (default)", SCREENCAST, ""),
            (f"lecture {m}, every frame decoded (frames_skip_still=false)", lecture, "frames_skip_still=false"),
            (f"lecture {m} (default)", lecture, ""),
            (f"lecture {m}, two lanes (index_parallel=true)", lecture, "index_parallel=true")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_speed", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, help="markdown file whose bench-speed section is replaced")
    p.add_argument("--work", type=Path, default=Path("data/bench"), help="where generated videos are kept")
    p.add_argument("--minutes", type=float, default=5.0, help="length of the generated lecture")
    p.add_argument("--repeat", type=int, default=2, help="runs per variant (alternating)")
    p.add_argument("--before", type=Path, help="another checkout (with .venv) whose lecture runs beside")
    p.add_argument("--note", action="append", default=[], help="a line added under the table (what was decided)")
    p.add_argument("--parts", help="only these parts side by side (voice,frames,spacy; see speed_parts.py): "
                   "their lines are added to the section, earlier lines kept")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--settings", default="", help=argparse.SUPPRESS)
    p.add_argument("--part", help=argparse.SUPPRESS)
    p.add_argument("--variant", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child and args.part:
        from .speed_parts import child_part

        child_part(args.part, args.variant, args.child)
        return 0
    if args.child:
        print(json.dumps(_child(args.child, args.db, args.settings)))
        return 0
    if args.parts:
        return _parts(args, argv)
    if not SCREENCAST.exists():
        raise SystemExit(f"{SCREENCAST} is missing: run from the project root next to ../shared/eval")
    args.work.mkdir(parents=True, exist_ok=True)
    looped, lecture = _looped(args.work), _lecture(args.work, args.minutes)
    variants = _variants(args, looped, lecture)
    before = f"lecture {args.minutes:g} min, code of {args.before} (before)"
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, _v, _s in variants}
    with tempfile.TemporaryDirectory(prefix="vrag-speed-") as tmp:
        for _ in range(args.repeat):
            if args.before is not None:
                print(f"{before} ...", file=sys.stderr)
                results.setdefault(before, []).append(_run(lecture, Path(tmp), "before", "", args.before.resolve()))
            for label, video, settings in variants:
                print(f"{label} ...", file=sys.stderr)
                results[label].append(_run(video, Path(tmp), label.split()[0], settings))
    SECTION.publish(SECTION.render(_report(args, argv, results)), args.out)
    return 0


def _parts(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Single parts before/after, in fresh processes; the lines go at the end of the section."""
    from .speed_parts import run_parts

    lecture = _lecture(args.work, args.minutes)
    lines = [measured(command_line("benchmarks.bench_speed", argv)) + " (parts side by side, fresh processes, "
             "before and after alternating, every run shown):"]
    lines += run_parts(args.parts.split(","), lecture, args.repeat)
    print("\n".join(lines))
    if args.out:
        old = args.out.read_text(encoding="utf-8")
        if SECTION.end not in old:
            raise SystemExit(f"{args.out} has no bench-speed section to add to")
        args.out.write_text(old.replace(SECTION.end, "\n".join(lines) + "\n" + SECTION.end), encoding="utf-8")
    return 0


def _report(args: argparse.Namespace, argv: list[str] | None, results: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = ["## Indexing speed and memory: screen recordings and the lecture", "",
             measured(command_line("benchmarks.bench_speed", argv)) + ".", "",
             "| variant | media | fresh process: whole index, best (all runs) | models loaded | peak RSS | "
             "OCR lines recognised / reused / region reads | largest stages, fresh (s) |",
             "|---|---|---|---|---|---|---|"]
    lines += [_row(label, runs) for label, runs in results.items()]
    before = results["screencast 37 s, whole-frame reads (before issue 21)"][0]["ocr_lines"]
    after = results["screencast 37 s (default)"][0]["ocr_lines"]
    gone, new = same_lines(before, after)
    lines += ["", f"OCR lines of the screencast 37 s: {len(before)} whole-frame, {len(after)} incremental; whole-frame "
              f"lines without a close match: {gone or 'none'}; new: {new or 'none'}.", ""]
    lines += _profile(min(results[f"lecture {args.minutes:g} min (default)"], key=lambda r: r["seconds"]))
    loads = [r["load"] for runs in results.values() for r in runs if "load" in r]
    lines.append(f"Machine load: 1-minute load average {min(loads):.1f}-{max(loads):.1f} at the ends of the runs "
                 f"(2 cores: above ~2 other processes took CPU time; CPU seconds are the steadier measure).")
    return lines + ["", *args.note] if args.note else lines


if __name__ == "__main__":
    sys.exit(main())
