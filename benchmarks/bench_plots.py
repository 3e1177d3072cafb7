"""PNG plots for BENCHMARKS.md (matplotlib, the ``bench`` extra): query latency against corpus
size, and indexing time per stage. Written by :mod:`benchmarks.bench_query` and :mod:`benchmarks.bench`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = ["PLOTS", "latency_plot", "stages_plot"]

#: Where the plots go, relative to the working directory (BENCHMARKS.md links them from here).
PLOTS = Path("docs/benchmarks")


def _pyplot() -> Any:
    from vrag.registry import require

    matplotlib = require("matplotlib", "Benchmark plots", "bench")
    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    return plt


def latency_plot(sizes: Sequence[int], latency: Mapping[str, Sequence[tuple[float, float]]],
                 targets: Mapping[str, float], path: Path, title: str) -> Path:
    """Log-log p50 (line) and p95 (dashed) per route against segments; targets as dotted lines."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for route, points in latency.items():
        line, = ax.plot(sizes, [p[0] for p in points], marker="o", label=f"{route} p50")
        ax.plot(sizes, [p[1] for p in points], linestyle="--", color=line.get_color(), alpha=0.6,
                label=f"{route} p95")
        if route in targets:
            ax.axhline(targets[route], linestyle=":", color=line.get_color(), alpha=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("segments in the knowledge base")
    ax.set_ylabel("latency per query (ms)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def stages_plot(runs: Mapping[str, Mapping[str, float]], stages: Sequence[str], path: Path, title: str) -> Path:
    """Stacked horizontal bars: seconds per stage for each run (e.g. per video length)."""
    plt = _pyplot()
    labels = list(runs)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.55 * len(labels)), dpi=120)
    left = [0.0] * len(labels)
    for stage in stages:
        values = [float(runs[label].get(stage, 0.0)) for label in labels]
        if not any(values):
            continue
        ax.barh(labels, values, left=left, label=stage)
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlabel("seconds (models loaded)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(labels) < 3 else -0.2))
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
