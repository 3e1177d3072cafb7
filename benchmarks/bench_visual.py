"""What is seen (issue 19): ``python -m benchmarks.bench_visual --before KB --after KB --out BENCHMARKS.md``.

Writes the ``bench-visual`` section of BENCHMARKS.md:

- recall@5 (file + span) of visual text questions (``tests/qa/visual_concepts.jsonl`` and the
  ``"kind": "visual"`` rows of the other question files) and, as the no-regression check, of the
  speech and screen-text questions, on two knowledge bases of ../shared/eval: one indexed before
  the visual concepts (``--before``) and the same one with only the keyframe and caption stages
  re-run by the current code (``--after``; ``vrag index ../shared/eval --only frame,caption``);
- tag precision: the tags each knowledge base's keyframes state, judged against what is visible
  in them (``benchmarks/data/visual_tags_judged.json``, written by looking at every keyframe);
- the keyframe stage's share of indexing time: a fresh index of a few clips with the default
  stages (``--clips``), stage timings from the indexer's own report.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Section, command_line, measured, stamp

__all__ = ["SECTION", "main", "tag_precision"]

SECTION = Section("<!-- bench-visual:begin -->", "<!-- bench-visual:end -->")
ROOT = Path(__file__).resolve().parents[1]
VISUAL = ROOT / "tests/qa/visual_concepts.jsonl"
OTHERS = ("tests/qa/shared_eval.jsonl", "tests/qa/batch2.jsonl", "tests/qa/nextqa_4405327307.jsonl")
JUDGED = ROOT / "benchmarks/data/visual_tags_judged.json"
CLIPS = ("media/sunscreen_ad.mp4", "media/big_buck_bunny_0_30.webm", "media/nextqa_4405327307_stage.mp4")
MODES = ("naive", "hybrid", "auto")


def _questions() -> dict[str, list[dict[str, Any]]]:
    from vrag.evaluate import load_qa

    sets: dict[str, list[dict[str, Any]]] = {"visual (issue 19 set)": load_qa(VISUAL), "visual (older rows)": [],
                                              "speech": [], "screen": []}
    for name in OTHERS:
        for q in load_qa(ROOT / name):
            key = {"visual": "visual (older rows)", "speech": "speech", "screen": "screen"}.get(q["kind"])
            if key and q["files"]:
                sets[key].append(q)
    return sets


def _recall5(kb: Any, questions: list[dict[str, Any]], mode: str) -> float:
    from vrag.evaluate import run_eval

    rows = run_eval(kb, questions, k=10, mode=mode, answer=False)
    return sum(1 for r in rows if r["rank"] is not None and r["rank"] <= 5) / max(1, len(rows))


def tag_precision(kb: Any) -> tuple[int, int, list[str]]:
    """(right, stated, wrong examples) over the keyframes judged by eye: a tag is right when one
    of its words names something visible in that keyframe."""
    from pathlib import PurePath

    judged = json.loads(JUDGED.read_text(encoding="utf-8"))["keyframes"]
    paths = {row["video_id"]: PurePath(str(row["path"])).name for row in kb.store.videos.all()}
    shots: dict[str, list[tuple[float, set[str]]]] = {}
    for j in judged:
        shots.setdefault(j["file"], []).append((float(j["start"]), {w.lower() for w in j["visible"]}))

    def visible_at(name: str | None, t: float) -> set[str] | None:
        """What the judged keyframe on screen at ``t`` shows (the keyframes of a re-run may start a
        little earlier or later than the judged ones)."""
        before = [words for start, words in sorted(shots.get(name or "", [])) if start <= t + 0.25]
        return before[-1] if before else None

    from vrag.backends.concepts import statements

    floor = float(kb.config.tag_min_prob)
    right = stated = 0
    wrong: list[str] = []
    for seg in kb.store.frames.read():
        visible = visible_at(paths.get(seg.video_id), seg.start)
        if visible is None:
            continue
        tags = seg.meta.get("tags", [])
        if seg.meta.get("classes"):  # what this code states from the stored posterior (as the keyframe stage does)
            tags = [(w, c) for w, c in statements(seg.meta["classes"], seg.meta.get("scene")) if c >= floor]
        for tag, _p in tags:
            stated += 1
            if tag.lower() in visible or any(w in visible for w in tag.lower().split()):
                right += 1
            else:
                wrong.append(f"{tag} ({paths.get(seg.video_id)} {seg.start:.1f} s)")
    return right, stated, wrong


def _stage_share(eval_dir: Path) -> tuple[dict[str, float], float]:
    from vrag import KnowledgeBase

    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(Path(tmp) / "kb")
        t0 = time.perf_counter()
        report = kb.index([eval_dir / c for c in CLIPS])
        wall = time.perf_counter() - t0
    totals: dict[str, float] = {}
    for result in report.results:
        for stage, seconds in (result.timings or {}).items():
            totals[stage] = totals.get(stage, 0.0) + float(seconds)
    return totals, wall


TIMING = "Indexing time: "


def _tag_lines(kbs: dict[str, Any]) -> list[str]:
    lines = []
    for which, kb in kbs.items():
        right, stated, wrong = tag_precision(kb)
        lines.append(f"- {which}: {right} of {stated} right ({right / max(1, stated):.2f}); wrong: "
                     f"{', '.join(wrong[:12]) or 'none'}{' …' if len(wrong) > 12 else ''}")
    return lines


def _timing(eval_dir: Path, argv: list[str] | None) -> list[str]:
    totals, wall = _stage_share(eval_dir)
    seen = totals.get("frame", 0.0) + totals.get("caption", 0.0)
    return [f"{TIMING}a fresh index of {', '.join(CLIPS)} with the default stages ({stamp()} UTC, "
            f"`{command_line('benchmarks.bench_visual', argv)}`, contended machine): {wall:.1f} s wall; keyframe "
            f"model, pixel cues and tags (`frame`) {totals.get('frame', 0.0):.1f} s "
            f"(**{100 * totals.get('frame', 0.0) / wall:.1f}%**) + structured captions and concept records "
            f"(`caption`) {totals.get('caption', 0.0):.1f} s ({100 * totals.get('caption', 0.0) / wall:.1f}%); "
            f"together {100 * seen / wall:.1f}%. All stage timings (s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in sorted(totals.items(), key=lambda kv: -kv[1])) + "."]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="knowledge base of ../shared/eval before the visual concepts")
    ap.add_argument("--after", required=True, help="the same, keyframe and caption stages re-run by this code")
    ap.add_argument("--eval-dir", default=str(ROOT.parent / "shared/eval"))
    ap.add_argument("--skip-timing", action="store_true", help="leave out the fresh index of the clips")
    ap.add_argument("--tags-only", action="store_true", help="only the tag precision, replaced in --out")
    ap.add_argument("--timing-only", action="store_true",
                    help="only the fresh index of the clips, added to the section already in --out")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    if args.tags_only:
        from vrag import KnowledgeBase

        old = args.out.read_text(encoding="utf-8")
        kept = old[old.index(SECTION.begin) + len(SECTION.begin): old.index(SECTION.end)].strip("\n").splitlines()
        tags = _tag_lines({"before": KnowledgeBase(args.before), "after": KnowledgeBase(args.after)})
        lines = [line for line in kept if not line.startswith(("- before:", "- after:"))]
        at = next(i for i, line in enumerate(lines) if line.startswith("Tag precision")) + 2
        SECTION.publish(SECTION.render(lines[:at] + tags + lines[at:] + [""]), args.out)
        return 0
    if args.timing_only:
        old = args.out.read_text(encoding="utf-8") if args.out and args.out.exists() else ""
        kept = old[old.index(SECTION.begin) + len(SECTION.begin): old.index(SECTION.end)].strip("\n").splitlines() \
            if SECTION.begin in old else []
        lines = [line for line in kept if not line.startswith(TIMING)] + _timing(Path(args.eval_dir), argv)
        SECTION.publish(SECTION.render(lines + [""]), args.out)
        return 0
    from vrag import KnowledgeBase

    kbs = {"before": KnowledgeBase(args.before), "after": KnowledgeBase(args.after)}
    lines = ["## What is seen: visual concepts (issue 19)", "",
             f"{measured(command_line('benchmarks.bench_visual', argv))}. The machine was shared with other "
             "jobs (contended): the timings are an upper bound.", "",
             "Recall@5 (file + span; k=10 search, no answers) on ../shared/eval, the same knowledge base before "
             f"(`{args.before}`) and after (`{args.after}`) re-running only the keyframe and caption stages:", "",
             "| questions | n | " + " | ".join(f"{m} before | {m} after" for m in MODES) + " |",
             "|---|---|" + "---|---|" * len(MODES)]
    for name, questions in _questions().items():
        cells = [f"{_recall5(kbs[w], questions, m):.2f}" for m in MODES for w in ("before", "after")]
        lines.append(f"| {name} | {len(questions)} | " + " | ".join(cells) + " |")
    lines += ["", "Tag precision (the tags the keyframes state, judged by eye in "
              "`benchmarks/data/visual_tags_judged.json`):", ""]
    lines += _tag_lines(kbs)
    if not args.skip_timing:
        lines += [""] + _timing(Path(args.eval_dir), argv)
    SECTION.publish(SECTION.render(lines + [""]), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
