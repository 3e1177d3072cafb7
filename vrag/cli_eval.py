"""``vrag eval QA.jsonl``: measure retrieval, routing, answers and citations on a question file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .errors import VragError


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    ev = sub.add_parser(
        "eval", parents=[common], help="measure search and answer quality on a JSON-lines question file",
        description="Each line: {\"question\", \"file\" (name, list, or null when unanswerable), optional "
                    "\"span\": [start, end], \"answer_any\": [words], \"level\": naive|hybrid|graph|library}; "
                    "extensions: \"id\", \"kind\", \"also\" (more spans), \"answer_all\", \"cite_all\" (every listed file must be cited).",
    )
    ev.add_argument("questions", metavar="QA.jsonl")
    ev.add_argument("-k", type=int, default=10, help="hits per search for recall@k and MRR (default 10)")
    ev.add_argument("--tolerance", type=float, default=0.0, metavar="SECONDS",
                    help="count a hit as on the span when it is this close to it (default 0: it must overlap)")
    ev.add_argument("--mode", default="auto", choices=["auto", "naive", "hybrid", "graph"],
                    help="retrieval level for every question (default auto: the router decides)")
    ev.add_argument("--json", action="store_true", help="summary and per-question details as JSON")
    ev.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from .config_args import config_from_args
    from .evaluate import load_qa, run_eval, summarise
    from .kb import KnowledgeBase

    if args.k < 1:
        raise VragError(f"-k {args.k}: ask for at least one hit")
    questions = load_qa(args.questions)
    kb = KnowledgeBase(config=config_from_args(args))
    if not kb.store.exists() or not kb.status()["videos"]:
        raise VragError(f"{kb.store.uri}: nothing indexed; run `vrag index PATH --db {kb.store.uri}` first")
    _warn_missing(questions, kb)
    kb.ask("warm-up: load the models", mode=args.mode)  # model loading is not query latency
    with _Progress(len(questions), enabled=not (args.quiet or args.json)) as bar:
        rows = run_eval(kb, questions, k=args.k, tolerance=args.tolerance, mode=args.mode, progress=bar.update)
    summary = summarise(rows, args.k)
    if args.json:
        out = {"db": kb.store.uri, "questions_file": args.questions, "k": args.k, "tolerance": args.tolerance,
               "mode": args.mode, "summary": summary, "questions": rows}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print_report(summary, rows)
    return 0


def _warn_missing(questions: list[dict[str, Any]], kb: Any) -> None:
    """One line on stderr when question files are not in the knowledge base (their scores would be zeros)."""
    from .evaluate import missing_files

    named = {f for q in questions for f in q["files"]}
    missing = missing_files(questions, kb.status()["videos"])
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        verb = "is" if len(missing) == 1 else "are"
        zero = " (every score will be zero)" if len(missing) == len(named) else ""
        print(f"vrag: warning: {len(missing)} of the {len(named)} files the questions name {verb} not indexed "
              f"in {kb.store.uri}: {shown}{zero}", file=sys.stderr)


class _Progress:
    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled, self._bar = total, enabled, None

    def __enter__(self) -> "_Progress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("questions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task("", total=self.total)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def update(self, index: int, row: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=index + 1)


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def print_report(summary: dict[str, Any], rows: list[dict[str, Any]], out: Any = None) -> None:
    """The human report: headline metrics, per kind, routing, latency, then the misses."""
    out = out or sys.stdout
    k = summary["k"]
    w = lambda line="": print(line, file=out)  # noqa: E731
    w(f"{summary['questions']} questions ({summary['answerable']} answerable)")
    w("  recall (right file):        " + "  ".join(f"@{c} {_fmt(v)}" for c, v in summary["file_recall"].items())
      + f"  MRR {_fmt(summary['file_mrr'])}")
    w("  recall (file + time span):  " + "  ".join(f"@{c} {_fmt(v)}" for c, v in summary["span_recall"].items())
      + f"  MRR {_fmt(summary['mrr'])}  mean IoU {_fmt(summary['mean_iou'])}")
    w("  grounding (IoU >= t):       " + "  ".join(f"@{c} IoU>={t} {_fmt(v)}" for t, by in summary["iou_recall"].items()
                                               for c, v in by.items()))
    w(f"  answer accuracy {_fmt(summary['answer_accuracy'])}   citation precision {_fmt(summary['citation_precision'])}"
      f"   unanswerable said not found {_fmt(summary['unanswerable_ok'])}"
      f"   answerable wrongly not found {summary['false_not_found']}")
    routing = summary["routing"]
    if routing["labelled"]:
        w(f"  routing accuracy {_fmt(routing['accuracy'])} on {routing['labelled']} labelled questions "
          "(rows: expected level, columns: routed)")
        w("    " + " " * 8 + "".join(f"{lvl:>8}" for lvl in routing["confusion"]))
        for lvl, row in routing["confusion"].items():
            w(f"    {lvl:<8}" + "".join(f"{row.get(p, 0):>8}" for p in routing["confusion"]))
    w(f"  routes taken: {', '.join(f'{r} {n}' for r, n in routing['routes'].items())}"
      f" ({routing['escalated']} escalated)")
    for route, lat in summary["latency_ms"].items():
        w(f"  latency {route:<7} ({lat['questions']} q): search p50 {lat['search_p50']:.0f} ms p95 "
          f"{lat['search_p95']:.0f} ms; ask p50 {lat['ask_p50']:.0f} ms p95 {lat['ask_p95']:.0f} ms")
    if len(summary["kinds"]) > 1:
        w()
        w(f"  {'kind':<14}{'n':>4}{'file@1':>8}{'span@1':>8}{'span@' + str(min(5, k)):>8}{'answer':>8}")
        for kind, b in summary["kinds"].items():
            w(f"  {kind:<14}{b['questions']:>4}{_fmt(b['file_recall'].get('1')):>8}{_fmt(b['span_recall'].get('1')):>8}"
              f"{_fmt(b['span_recall'].get(str(min(5, k)))):>8}{_fmt(b['answer_accuracy']):>8}")
    missed = [r for r in rows if r["file"] and r["rank"] is None]
    wrong = [r for r in rows if r["answer_ok"] is False]
    if missed:
        w()
        w(f"not found in the top {k}:")
        for r in missed:
            top = r["hits"][0] if r["hits"] else None
            got = f"{top['path']} @ {top['start']:.1f}-{top['end']:.1f}" if top else "no hits"
            w(f"  [{r['id']}] {r['question']}  (top hit: {got})")
    if wrong:
        w()
        w("answers without the expected words:")
        for r in wrong:
            w(f"  [{r['id']}] {r['question']} -> {' '.join(r['answer'].split())[:120]}")
