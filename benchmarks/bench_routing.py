"""What routing buys on real questions: ``python -m benchmarks.bench_routing --db KB --out BENCHMARKS.md``.

AdaVideoRAG routes a question to the cheapest retrieval level that answers it. This benchmark
asks every question of the hand-written real-material dev set (``tests/qa/*.jsonl``) once per
mode, ``auto`` (the router, with escalation) and each forced level, against the same knowledge
base, and reports per mode: answer accuracy, wrong "not found", recall@5 of the right file and
span, and search/ask latency. It also reports the router's agreement with the human level labels
on the questions it was *not* trained on (``tests/qa/batch2.jsonl``: files the router never saw).
Section ``bench-routing`` of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path
from typing import Any

from benchmarks.common import Section, command_line, measured

__all__ = ["SECTION", "MODES", "main", "table"]

SECTION = Section("<!-- bench-routing:begin -->", "<!-- bench-routing:end -->")
MODES = ("auto", "naive", "hybrid", "graph", "library")
#: Question files whose labels the shipped router was not trained on.
HELD_OUT = ("tests/qa/batch2.jsonl",)


def _row(mode: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    from vrag.evaluate import quantile

    answerable = [r for r in rows if r["file"]]
    judged = [r for r in rows if r["answer_ok"] is not None]
    return {
        "mode": mode, "questions": len(rows),
        "answer_accuracy": sum(bool(r["answer_ok"]) for r in judged) / len(judged) if judged else None,
        "false_not_found": sum(r["said_not_found"] for r in answerable) / len(answerable) if answerable else None,
        "recall5": sum(r["rank"] is not None and r["rank"] <= 5 for r in answerable) / len(answerable)
        if answerable else None,
        "search_p50": quantile([r["search_ms"] for r in rows], 0.5),
        "ask_p50": quantile([r["ask_ms"] for r in rows if r["ask_ms"] is not None], 0.5),
        "ask_p95": quantile([r["ask_ms"] for r in rows if r["ask_ms"] is not None], 0.95),
    }


def _f(v: Any, pct: bool = False) -> str:
    if v is None:
        return "n/a"
    return f"{v:.0%}" if pct else f"{v:.2f}" if isinstance(v, float) and v < 10 else f"{v:.0f}"


def table(results: list[dict[str, Any]]) -> list[str]:
    lines = ["| mode | questions | answer acc. | wrong \"not found\" | recall@5 file+span | search p50 ms | "
             "ask p50 ms | ask p95 ms |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['mode']} | {r['questions']} | {_f(r['answer_accuracy'])} | {_f(r['false_not_found'], True)} "
                     f"| {_f(r['recall5'])} | {_f(r['search_p50'])} | {_f(r['ask_p50'])} | {_f(r['ask_p95'])} |")
    return lines


def _routing(rows: list[dict[str, Any]]) -> list[str]:
    labelled = [r for r in rows if r["expected_level"]]
    if not labelled:
        return ["No held-out question has a level label."]
    levels = sorted({r["expected_level"] for r in labelled} | {r["routed_level"] for r in labelled})
    ok = sum(r["expected_level"] == r["routed_level"] for r in labelled)
    lines = [f"Router agreement with the human level labels on {len(labelled)} held-out questions: "
             f"**{ok / len(labelled):.2f}** (rows: label, columns: the router's choice).", "",
             "| label \\ routed | " + " | ".join(levels) + " |", "|---" * (len(levels) + 1) + "|"]
    for want in levels:
        counts = [sum(1 for r in labelled if r["expected_level"] == want and r["routed_level"] == got) for got in levels]
        lines.append(f"| {want} | " + " | ".join(str(c) for c in counts) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_routing", description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, help="an indexed knowledge base of all of ../shared/eval")
    p.add_argument("--questions", action="append", help="question files (default: tests/qa/*.jsonl)")
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated modes (default: all)")
    p.add_argument("--out", type=Path, help="markdown file whose bench-routing section is replaced")
    p.add_argument("--json", type=Path, dest="json_out", help="write per-mode, per-question rows here")
    args = p.parse_args(argv)

    from vrag import KnowledgeBase
    from vrag.evaluate import load_qa, run_eval

    command = command_line("benchmarks.bench_routing", argv)
    files = args.questions or sorted(glob.glob("tests/qa/*.jsonl"))
    questions = [q for f in files for q in load_qa(f)]
    held_out = [q["id"] for f in files if f in HELD_OUT for q in load_qa(f)]
    kb = KnowledgeBase(args.db)
    kb.ask("warm-up: load the models")
    results, per_mode = [], {}
    for mode in args.modes.split(","):
        rows = run_eval(kb, questions, k=10, mode=mode)
        per_mode[mode] = rows
        results.append(_row(mode, rows))
        print(table(results)[-1], flush=True)
    auto = per_mode.get("auto", [])
    lines = [
        "## Routing on real questions: auto versus each forced level",
        "",
        f"{measured(command)}.",
        "",
        f"The same {len(questions)} hand-written questions ({', '.join(f'`{f}`' for f in files)}) asked once per "
        "mode against one knowledge base of all of ../shared/eval. answer acc.: over questions with expected words "
        "and the unanswerable ones (which must say \"not found\"); wrong \"not found\": share of answerable "
        "questions answered \"not found\"; recall@5: a top-5 hit in the right file overlapping the span; latency "
        "with models loaded (`ask` includes its own search).",
        "",
        *table(results),
        "",
        *_routing([r for r in auto if r["id"] in set(held_out)]),
    ]
    if args.json_out:
        args.json_out.write_text(json.dumps({"command": command, "modes": per_mode}, indent=1), encoding="utf-8")
    SECTION.publish(SECTION.render(lines), args.out, echo=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
