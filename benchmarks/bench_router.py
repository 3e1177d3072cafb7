"""Query routing accuracy: ``python -m benchmarks.bench_router --out BENCHMARKS.md`` (``make bench``).

Evaluates the shipped router weights on the held-out split of ``retrievers/route_queries.jsonl``
(:func:`vrag.retrievers.router_train.evaluate`) and writes the level accuracy, the global/localized
accuracy and the confusion matrix as the ``bench-router`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks.common import Section, command_line, machine

__all__ = ["SECTION", "main", "report"]

SECTION = Section("<!-- bench-router:begin -->", "<!-- bench-router:end -->")


def report(result: dict[str, Any], levels: tuple[str, ...] | list[str], command: str) -> str:
    """The section for one :func:`~vrag.retrievers.router_train.evaluate` result."""
    return SECTION.render([
        "## Query routing accuracy",
        "",
        f"Machine: {machine()}",
        "",
        f"Command: `{command}`",
        "",
        "The shipped router (logistic regression on MiniLM + lexical cues) on the held-out split of "
        f"`retrievers/route_queries.jsonl` ({result['n_test']} queries from topic groups not seen in training; "
        f"{result['n_train']} training queries): **level accuracy {result['level_accuracy']:.3f}**, "
        f"global/localized accuracy {result['global_accuracy']:.3f}.",
        "",
        *_confusion(result["confusion"], levels),
        *_real(result, levels),
    ])


def _confusion(confusion: dict[str, dict[str, int]], levels: tuple[str, ...] | list[str]) -> list[str]:
    """A confusion matrix as a markdown table (rows: true level, columns: predicted)."""
    return ["| true \\ predicted | " + " | ".join(levels) + " |", "|---|" + "---|" * len(levels),
            *(f"| {t} | " + " | ".join(str(confusion[t][p]) for p in levels) + " |" for t in levels)]


def _real(result: dict[str, Any], levels: tuple[str, ...] | list[str]) -> list[str]:
    """The held-out questions written about real recordings (files the router never saw)."""
    real = result.get("real")
    if not real:
        return []
    return [
        "",
        f"Trained with {result.get('n_train_real', 0)} questions written about the real recordings of "
        "../shared/eval/media and audio (human level labels, weighted 3x); on "
        f"{real['n_test']} held-out questions about the batch2 recordings: **level accuracy "
        f"{real['level_accuracy']:.3f}** (0.54 with the router trained on templates only), global/localized "
        f"accuracy {real['global_accuracy']:.3f}.",
        "",
        *_confusion(real["confusion"], levels),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_router", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, help="markdown file whose bench-router section is replaced (e.g. BENCHMARKS.md)")
    args = p.parse_args(argv)
    from vrag.retrievers.router import LEVELS
    from vrag.retrievers.router_train import evaluate

    SECTION.publish(report(evaluate(), LEVELS, command_line("benchmarks.bench_router", argv)), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
