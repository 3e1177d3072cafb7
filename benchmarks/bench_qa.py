"""Question-answering benchmark on real material: ``python -m benchmarks.bench_qa`` (``make bench``).

Runs ``vrag eval`` (:mod:`vrag.evaluate`: the same questions, metrics and defaults) on one or more
question files against an already indexed knowledge base, and writes the results as the
``bench-qa`` section of BENCHMARKS.md (between ``<!-- bench-qa:begin -->`` and
``<!-- bench-qa:end -->``): per question file, the headline metrics, the routing confusion matrix,
latency per route and a per-kind table. ``--json FILE`` keeps the per-question details.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.common import Section, command_line, measured

__all__ = ["SECTION", "main", "report"]

SECTION = Section("<!-- bench-qa:begin -->", "<!-- bench-qa:end -->")
DEFAULT_QUESTIONS = ("tests/qa/shared_eval.jsonl", "tests/qa/batch2.jsonl", "tests/qa/library.jsonl",
                     "tests/qa/nextqa_4405327307.jsonl")
#: Retrieval set-ups compared on the same knowledge base and questions (search only):
#: (label, mode, filters). "window" records are the fixed 30 s windows the indexer also writes
#: (``window_seconds``): retrieval over them alone is what AdaVideoRAG and VideoRAG index.
BASELINES = (
    ("vrag auto (router + escalation; default)", "auto", None),
    ("vector only (naive: MiniLM top-k over speech, screen text, captions)", "naive", None),
    ("hybrid (vector + BM25 full text + keyframes, RRF, merged spans)", "hybrid", None),
    ("fixed 30 s windows, vector only", "naive", {"modality": ["window"]}),
    ("fixed 30 s windows, hybrid", "hybrid", {"modality": ["window"]}),
)


def _f(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _section(name: str, summary: dict[str, Any], rows: list[dict[str, Any]],
             baselines: list[tuple[str, dict[str, Any]]]) -> list[str]:
    k = summary["k"]
    fr, sr = summary["file_recall"], summary["span_recall"]
    lines = [
        f"### `{name}`: {summary['questions']} questions ({summary['answerable']} answerable)",
        "",
        "| recall@1 file | @5 | @10 | recall@1 file+span | @5 | @10 | MRR (span) | mean IoU | evidence@5 "
        "| answer acc. | citation precision | unanswerable \"not found\" | answerable wrongly \"not found\" |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {_f(fr.get('1'))} | {_f(fr.get('5'))} | {_f(fr.get(str(k)))} | {_f(sr.get('1'))} | {_f(sr.get('5'))} "
        f"| {_f(sr.get(str(k)))} | {_f(summary['mrr'])} | {_f(summary['mean_iou'])} | {_f(summary['evidence_at_5'])} "
        f"| {_f(summary['answer_accuracy'])} | {_f(summary['citation_precision'])} | {_f(summary['unanswerable_ok'])} "
        f"| {summary['false_not_found']} of {summary['answerable']} |",
        "",
        "Grounding: " + ", ".join(f"R@{c} IoU≥{t} {_f(v)}" for t, by in summary["iou_recall"].items()
                                  for c, v in by.items()) + ".",
        "",
    ]
    routing = summary["routing"]
    if routing["labelled"]:
        levels = list(routing["confusion"])
        lines += [f"Routing accuracy **{_f(routing['accuracy'])}** on {routing['labelled']} questions labelled "
                  "with a level (rows: the label, columns: the router's first choice):", "",
                  "| label \\ routed | " + " | ".join(levels) + " |", "|---|" + "---|" * len(levels)]
        lines += [f"| {lvl} | " + " | ".join(str(row.get(p, 0)) for p in levels) + " |"
                  for lvl, row in routing["confusion"].items()]
        lines.append("")
    lines.append("Latency per route taken (ms; models loaded, one warm-up question first): " + "; ".join(
        f"{route} ({lat['questions']} q) search p50 {lat['search_p50']:.0f} / p95 {lat['search_p95']:.0f}, "
        f"ask p50 {lat['ask_p50']:.0f} / p95 {lat['ask_p95']:.0f}"
        for route, lat in summary["latency_ms"].items()) + f"; escalated {routing['escalated']}.")
    if len(summary["kinds"]) > 1:
        lines += ["", "| kind | questions | recall@1 file+span | recall@5 file+span | mean IoU | answer acc. "
                  "| citation precision |", "|---|---|---|---|---|---|---|"]
        for kind, b in summary["kinds"].items():
            lines.append(f"| {kind} | {b['questions']} | {_f(b['span_recall'].get('1'))} | "
                         f"{_f(b['span_recall'].get('5'))} | {_f(b['mean_iou'])} | {_f(b['answer_accuracy'])} | "
                         f"{_f(b['citation_precision'])} |")
    if baselines:
        lines += ["", "Baselines on the same questions and knowledge base (search only, k=10; search latency p50):", "",
                  "| set-up | recall@1 file | @5 | recall@1 file+span | @5 | MRR (span) | mean IoU "
                  "| R@1 IoU≥0.3 | R@1 IoU≥0.5 | R@5 IoU≥0.5 | search p50 ms |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for label, b in baselines:
            fr, sr = b["file_recall"], b["span_recall"]
            p50 = b["search_p50_ms"] or 0.0
            lines.append(f"| {label} | {_f(fr.get('1'))} | {_f(fr.get('5'))} | {_f(sr.get('1'))} | "
                         f"{_f(sr.get('5'))} | {_f(b['mrr'])} | {_f(b['mean_iou'])} | "
                         f"{_f(b['iou_recall']['0.3'].get('1'))} | {_f(b['iou_recall']['0.5'].get('1'))} | "
                         f"{_f(b['iou_recall']['0.5'].get('5'))} | {p50:.0f} |")
        lines += ["", "Read with the clip lengths in mind: these recordings are 11-70 s long, so one 30 s window "
                  "covers a third to all of a clip and window recall is high by construction; grounding "
                  "(R@k IoU≥0.5) shows how tightly a hit sits on the moment, which depends on how long the "
                  "answer spans are (short facts in the talk and screencast; up to 19 s of a 24 s clip in "
                  "NExT-GQA). Hybrid's merged spans (up to 30 s) trade grounding for recall@1."]
    missed = [r["id"] for r in rows if r["file"] and r["rank"] is None]
    wrong = [r["id"] for r in rows if r["answer_ok"] is False]
    lines += ["", f"- Not in the top {k} (file + span): {', '.join(missed) or 'none'}.",
              f"- Answers without the expected words: {', '.join(wrong) or 'none'}.", ""]
    return lines


def report(results: list[tuple[str, dict[str, Any], list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]],
           command: str, db: str, tolerance: float) -> str:
    lines = [
        "## Question answering on real recordings (../shared/eval)",
        "",
        f"{measured(command)}. "
        f"Each file's numbers are what `vrag eval FILE --db {db}` prints.",
        "",
        f"Knowledge base: `{db}`, built by `vrag index ../shared/eval` (media/, audio/ and batch2/ together). "
        "`tests/qa/shared_eval.jsonl` (media/, audio/) and `tests/qa/batch2.jsonl` (the TV clips, the songs, the "
        "golf clip) are written by hand from the media themselves and their human annotations (the picture, the "
        "broadcasters' transcripts, the hand-timed lyrics, the sonnet's line timings), never from what vrag "
        "retrieved; `tests/qa/library.jsonl` asks about the collection (a right answer cites every listed file); "
        "`tests/qa/nextqa_4405327307.jsonl` is the human NExT-QA questions of one clip with NExT-GQA answer spans "
        "(`data/convert_nextqa.py`). The maintainers keep a separate held-out set on the same files.",
        "",
        "- recall@k file: a hit in the top k is in the expected file; recall@k file+span: it also overlaps the "
        f"expected span (temporal IoU > 0{f', or within {tolerance:g} s' if tolerance else ''}); MRR of that "
        "first right hit; mean IoU: the IoU of that hit with the span (0 when none in the top 10), over questions "
        "with a span; R@k IoU≥t: a hit in the top k has IoU ≥ t with the span (the temporal-grounding measure "
        "of NExT-GQA and similar benchmarks: it rewards a hit that is *on* the moment, not one that merely "
        "touches it).",
        "- evidence@5: a right hit in the top 5 also holds the expected words in its own text (a slide that stays "
        "up for the whole talk overlaps every span, so recall alone is lenient there).",
        "- answer acc.: the `ask` answer holds the expected words (`answer_any`: one of them; `answer_all`: all), "
        "file names removed; an unanswerable question (file null) must say \"not found\" and cite nothing.",
        "- citation precision: of all citations of answerable questions, the share in the expected file and "
        "overlapping its span.",
        "",
    ]
    for name, summary, rows, baselines in results:
        lines += _section(name, summary, rows, baselines)
    return SECTION.render(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_qa", description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, help="an indexed knowledge base of ../shared/eval")
    p.add_argument("--questions", action="append", help="question file (repeatable; default: "
                   + ", ".join(DEFAULT_QUESTIONS) + ")")
    p.add_argument("--out", type=Path, help="markdown file whose bench-qa section is replaced (e.g. BENCHMARKS.md)")
    p.add_argument("--json", type=Path, dest="json_out", help="write the per-question results here")
    p.add_argument("-k", type=int, default=10, help="hits per search (default 10)")
    p.add_argument("--tolerance", type=float, default=0.0, help="seconds of slack around a span (default 0)")
    p.add_argument("--no-baselines", action="store_true", help="skip the baseline set-ups (vector only, windows, ...)")
    args = p.parse_args(argv)

    from vrag import KnowledgeBase
    from vrag.cli_eval import print_report
    from vrag.evaluate import load_qa, quantile, run_eval, summarise

    command = command_line("benchmarks.bench_qa", argv)
    files = args.questions or list(DEFAULT_QUESTIONS)
    kb = KnowledgeBase(args.db)
    if not kb.status()["videos"]:
        raise SystemExit(f"{args.db}: nothing indexed; run `vrag index ../shared/eval --db {args.db}`")
    kb.ask("warm-up: load the models")  # model loading is not query latency
    results = []
    for name in files:
        questions = load_qa(name)
        rows = run_eval(kb, questions, k=args.k, tolerance=args.tolerance)
        summary = summarise(rows, args.k)
        print(f"== {name}")
        print_report(summary, rows)
        baselines = []
        for label, mode, filters in ([] if args.no_baselines else BASELINES):
            b_rows = run_eval(kb, questions, k=args.k, tolerance=args.tolerance, mode=mode, filters=filters,
                              answer=False)
            b = summarise(b_rows, args.k)
            b["search_p50_ms"] = quantile([r["search_ms"] for r in b_rows], 0.5)
            baselines.append((label, b))
            print(f"   baseline {label}: span recall@1 {_f(b['span_recall'].get('1'))} @5 "
                  f"{_f(b['span_recall'].get('5'))} mean IoU {_f(b['mean_iou'])} R@1 IoU>=0.5 "
                  f"{_f(b['iou_recall']['0.5'].get('1'))} R@5 IoU>=0.5 {_f(b['iou_recall']['0.5'].get('5'))}")
        results.append((name, summary, rows, baselines))
    if args.json_out:
        args.json_out.write_text(json.dumps({"command": command, "files": {
            n: {"summary": s, "questions": r, "baselines": dict(b)} for n, s, r, b in results}}, indent=1),
            encoding="utf-8")
    SECTION.publish(report(results, command, args.db, args.tolerance), args.out, echo=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
