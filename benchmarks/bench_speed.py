"""Indexing speed of screen recordings and of the lecture, before/after, side by side (issue 21).

Each variant indexes in a fresh process with the default models (loaded before the clock starts,
as ``benchmarks.bench`` does) into its own knowledge base:

- the screencast: ``../shared/eval/media/gnome_display_settings.webm`` looped 8 times (5 minutes,
  1024x768, no sound), with ``ocr_incremental`` off (every read looks at the whole frame: before)
  and on (after); also the single 37 s recording, whose OCR lines are compared between the two;
- the generated lecture (speech + slides), with ``index_parallel`` off (the default) and on.

Variants alternate (A, B, A, B, ...) so that machine noise falls on both.

    python -m benchmarks.bench_speed --out BENCHMARKS.md [--repeat 2] [--minutes 5]
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

__all__ = ["main", "same_lines"]

SECTION = Section("<!-- bench-speed:begin -->", "<!-- bench-speed:end -->")
SCREENCAST = Path("../shared/eval/media/gnome_display_settings.webm")


def _child(video: str, db: str, settings: str) -> dict[str, Any]:
    """In a fresh process: load the models, index ``video`` with ``settings`` (k=v,...), report."""
    import resource
    import time

    from vrag import KnowledgeBase
    from vrag.backends import get_backend
    from vrag.backends.text_embed import text_embedder

    overrides = dict(kv.split("=", 1) for kv in settings.split(",") if kv)
    kb = KnowledgeBase(db, **overrides)
    text_embedder(kb.config).embed(["warm up"])
    for kind in ("asr", "ocr", "image_embed", "audio_events"):
        get_backend(kind, kb.config).load()
    ocr = get_backend("ocr", kb.config)
    started = time.perf_counter()
    (result,) = kb.index([video]).results
    seconds = time.perf_counter() - started
    lines = sorted({ln for s in kb.segments(modality="ocr") for ln in s.text.splitlines() if ln.strip()})
    return {"status": result.status, "duration": result.duration, "seconds": seconds, "timings": result.timings,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "recognised": ocr.recognised, "reused": ocr.reused, "region_reads": ocr.regions, "ocr_lines": lines}


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


def _run(video: Path, tmp: Path, name: str, settings: str) -> dict[str, Any]:
    db = tmp / f"kb-{name}-{len(list(tmp.iterdir()))}"
    return child_json("benchmarks.bench_speed", ["--child", str(video), "--db", str(db), "--settings", settings],
                      quiet=True)


def _row(label: str, runs: list[dict[str, Any]]) -> str:
    best = min(runs, key=lambda r: r["seconds"])
    t = best["timings"]
    stages = ", ".join(f"{k} {v:.1f}" for k, v in sorted(t.items(), key=lambda kv: -kv[1])[:4])
    secs = sorted(r["seconds"] for r in runs)
    return (f"| {label} | {best['duration']:.0f} s | {secs[0]:.1f} s ({' / '.join(f'{s:.1f}' for s in secs)}) | "
            f"**{best['duration'] / best['seconds']:.1f}x** | {best['peak_rss_mb']:.0f} MB | "
            f"{best['recognised']} / {best['reused']} / {best['region_reads']} | {stages} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_speed", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, help="markdown file whose bench-speed section is replaced")
    p.add_argument("--work", type=Path, default=Path("data/bench"), help="where generated videos are kept")
    p.add_argument("--minutes", type=float, default=5.0, help="length of the generated lecture")
    p.add_argument("--repeat", type=int, default=2, help="runs per variant (alternating)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--settings", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.db, args.settings)))
        return 0
    if not SCREENCAST.exists():
        raise SystemExit(f"{SCREENCAST} is missing: run from the project root next to ../shared/eval")
    args.work.mkdir(parents=True, exist_ok=True)
    looped, lecture = _looped(args.work), _lecture(args.work, args.minutes)
    variants = [("screencast x8, whole-frame reads (before)", looped, "ocr_incremental=false"),
                ("screencast x8, incremental OCR (after)", looped, "ocr_incremental=true"),
                ("screencast 37 s, whole-frame reads (before)", SCREENCAST, "ocr_incremental=false"),
                ("screencast 37 s, incremental OCR (after)", SCREENCAST, "ocr_incremental=true"),
                (f"lecture {args.minutes:g} min, one lane (default)", lecture, "index_parallel=false"),
                (f"lecture {args.minutes:g} min, two lanes (index_parallel)", lecture, "index_parallel=true")]
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, _v, _s in variants}
    with tempfile.TemporaryDirectory(prefix="vrag-speed-") as tmp:
        for _ in range(args.repeat):
            for label, video, settings in variants:
                print(f"{label} ...", file=sys.stderr)
                results[label].append(_run(video, Path(tmp), label.split()[0], settings))
    lines = ["## Indexing speed: screen recordings and two lanes", "",
             measured(command_line("benchmarks.bench_speed", argv)) + ".", "",
             "| variant | media | whole index, best (all runs) | x real time | peak RSS | OCR lines recognised / "
             "reused / region reads | largest stages (s) |", "|---|---|---|---|---|---|---|"]
    lines += [_row(label, runs) for label, runs in results.items()]
    for loop in ("screencast x8", "screencast 37 s"):
        before = results[f"{loop}, whole-frame reads (before)"][0]["ocr_lines"]
        after = results[f"{loop}, incremental OCR (after)"][0]["ocr_lines"]
        gone, new = same_lines(before, after)
        lines += ["", f"OCR lines of the {loop}: {len(before)} before, {len(after)} after; before-lines without a "
                  f"close match after: {gone or 'none'}; new: {new or 'none'}."]
    lines.append(f"Machine load: {os.getloadavg()[0]:.1f} (1-minute load average at the end).")
    SECTION.publish(SECTION.render(lines), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
