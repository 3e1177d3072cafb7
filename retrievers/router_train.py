"""Train the query router: ``python -m vrag.retrievers.router_train [--check]``.

Embeds the train split of ``route_queries.jsonl`` with the configured text embedder (the
packaged MiniLM by default), fits two scikit-learn logistic regressions (level: naive /
hybrid / graph; global: yes / no) on the embedding plus lexical cues, writes their
coefficients to ``router_weights.json`` and prints held-out accuracy through
:class:`~vrag.retrievers.router.Router`. ``--check`` only verifies that the weights were
trained on the current query set (exit status 1 if not).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .router import LEVELS, LEXICAL_FEATURES, WEIGHTS_FILE, Router, featurize

__all__ = ["train", "evaluate", "data_hash", "load_queries", "main"]

HERE = Path(__file__).resolve().parent
DATA_PATH = HERE / "route_queries.jsonl"
WEIGHTS_PATH = HERE / WEIGHTS_FILE

#: Inverse regularisation strength; ~C=3..30 did equally well in 5-fold cross-validation by topic group.
C = 10.0


def data_hash(path: Path = DATA_PATH) -> str:
    """sha256 of the labelled query file, stored with the weights it produced."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_queries(split: str | None = None) -> list[dict[str, Any]]:
    """The labelled queries, optionally one split ("train" or "test")."""
    lines = DATA_PATH.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]


def _embedder() -> Any:
    """The configured text embedder (the packaged MiniLM unless vrag settings say otherwise)."""
    from vrag.config import Config
    from vrag.backends.text_embed import text_embedder

    return text_embedder(Config.load())


def _fit(x: Any, labels: list[Any]) -> dict[str, Any]:
    """A multinomial logistic regression as plain lists: one coefficient row per class."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=5000).fit(x, labels)
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:  # sklearn keeps one row for two classes; softmax over (-z/2, z/2) is sigmoid(z)
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.concatenate([-intercept / 2, intercept / 2])
    return {
        "classes": [c.item() for c in model.classes_],
        "coef": [[round(float(v), 6) for v in row] for row in coef],
        "intercept": [round(float(v), 6) for v in intercept],
    }


def train(embedder: Any = None) -> dict[str, Any]:
    """Fit both models on the train split and write ``router_weights.json``; returns the weights."""
    embedder = embedder or _embedder()
    rows = load_queries("train")
    queries = [r["query"] for r in rows]
    vectors = embedder.embed(queries)
    x = featurize(vectors, queries)
    weights = {
        "model_id": embedder.model_id,
        "data_sha256": data_hash(),
        "embedding_dim": int(vectors.shape[1]),
        "lexical_features": list(LEXICAL_FEATURES),
        "n_train": len(rows),
        "C": C,
        "level": _fit(x, [r["route"] for r in rows]),
        "global": _fit(x, [bool(r["global"]) for r in rows]),
    }
    WEIGHTS_PATH.write_text(json.dumps(weights, separators=(",", ":")) + "\n", encoding="utf-8")
    return weights


def evaluate(embedder: Any = None) -> dict[str, Any]:
    """Held-out accuracy of the shipped weights, through :class:`Router`, on the test split.

    ``confusion[true][predicted]`` counts test queries per level pair.
    """
    embedder = embedder or _embedder()
    test = load_queries("test")
    routes = Router(embedder.embed, model_id=embedder.model_id).classify_many([r["query"] for r in test])
    confusion = {t: {p: 0 for p in LEVELS} for t in LEVELS}
    for row, route in zip(test, routes):
        confusion[row["route"]][route.level] += 1
    n = len(test)
    return {
        "level_accuracy": sum(r["route"] == x.level for r, x in zip(test, routes)) / n,
        "global_accuracy": sum(bool(r["global"]) == x.global_ for r, x in zip(test, routes)) / n,
        "n_train": len(load_queries("train")),
        "n_test": n,
        "confusion": confusion,
    }


def _check() -> int:
    """0 if the weights file was trained on the current query file, else 1 (with a message)."""
    try:
        stored = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8")).get("data_sha256")
    except (OSError, ValueError) as exc:
        print(f"{WEIGHTS_PATH}: unreadable ({exc})", file=sys.stderr)
        return 1
    if stored != data_hash():
        print(f"{WEIGHTS_PATH.name} is stale: retrain with python -m vrag.retrievers.router_train", file=sys.stderr)
        return 1
    print(f"{WEIGHTS_PATH.name} matches {DATA_PATH.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vrag.retrievers.router_train", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only verify the weights match the query set")
    args = parser.parse_args(argv)
    if args.check:
        return _check()
    embedder = _embedder()
    started = time.perf_counter()
    weights = train(embedder)
    elapsed = time.perf_counter() - started
    result = evaluate(embedder)
    print(f"trained on {weights['n_train']} queries with {weights['model_id']} in {elapsed:.1f}s -> {WEIGHTS_PATH}")
    print(f"held-out ({result['n_test']} queries): level accuracy {result['level_accuracy']:.3f}, "
          f"global accuracy {result['global_accuracy']:.3f}")
    print("confusion (rows: true, columns: predicted)")
    print(" " * 8 + "".join(f"{p:>8}" for p in LEVELS))
    for t in LEVELS:
        print(f"{t:>8}" + "".join(f"{result['confusion'][t][p]:>8}" for p in LEVELS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
