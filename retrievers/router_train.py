"""Train the query router: ``python -m vrag.retrievers.router_train [--check] [--import-qa FILE --split S]``.

Embeds the train split of ``route_queries.jsonl`` with the configured text embedder (the
packaged MiniLM by default), fits two scikit-learn logistic regressions (level: naive /
hybrid / graph; global: yes / no) on the embedding plus lexical cues, writes their
coefficients to ``router_weights.json`` and prints held-out accuracy through
:class:`~vrag.retrievers.router.Router`. ``--check`` only verifies that the weights were
trained on the current query set (exit status 1 if not).

Besides the template queries, ``route_queries.jsonl`` holds questions written about real recordings
(``"source": "real:<file>"``), imported from ``vrag eval`` question files with their human level
labels (``--import-qa``): the questions on ../shared/eval's media and audio train the router
(weighted :data:`REAL_WEIGHT` times a template query), the batch2 questions are its real held-out
test, on files it never saw.
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
#: A question written about a real recording counts this many times a template query in training.
REAL_WEIGHT = 3.0


def data_hash(path: Path = DATA_PATH) -> str:
    """sha256 of the labelled query file, stored with the weights it produced."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_queries(split: str | None = None, real: bool | None = None) -> list[dict[str, Any]]:
    """The labelled queries, optionally one split ("train" or "test"), and only the real questions
    (``real=True``) or only the template ones (``real=False``)."""
    lines = DATA_PATH.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [r for r in rows if (split is None or r["split"] == split)
            and (real is None or r.get("source", "").startswith("real") == real)]


def import_qa(path: Path, split: str) -> int:
    """Append the level-labelled questions of a ``vrag eval`` question file (not "library": that
    route is a rule) to the query set; returns how many were new."""
    from vrag.evaluate import load_qa

    have = {r["query"].strip().lower() for r in load_queries()}
    new = [{"query": q["question"], "route": q["level"], "global": q["kind"] == "global", "split": split,
            "source": f"real:{Path(path).name}"}
           for q in load_qa(path) if q["level"] in LEVELS and q["question"].strip().lower() not in have]
    with DATA_PATH.open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in new)
    return len(new)


def _embedder() -> Any:
    """The configured text embedder (the packaged MiniLM unless vrag settings say otherwise)."""
    from vrag.config import Config
    from vrag.backends.text_embed import text_embedder

    return text_embedder(Config.load())


def _fit(x: Any, labels: list[Any], weights: list[float] | None = None) -> dict[str, Any]:
    """A multinomial logistic regression as plain lists: one coefficient row per class."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=5000).fit(x, labels, sample_weight=weights)
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
    sample = [REAL_WEIGHT if r.get("source", "").startswith("real") else 1.0 for r in rows]
    weights = {
        "model_id": embedder.model_id,
        "data_sha256": data_hash(),
        "embedding_dim": int(vectors.shape[1]),
        "lexical_features": list(LEXICAL_FEATURES),
        "n_train": len(rows),
        "C": C,
        "n_real": sum(r.get("source", "").startswith("real") for r in rows),
        "level": _fit(x, [r["route"] for r in rows], sample),
        "global": _fit(x, [bool(r["global"]) for r in rows], sample),
    }
    WEIGHTS_PATH.write_text(json.dumps(weights, separators=(",", ":")) + "\n", encoding="utf-8")
    return weights


def evaluate(embedder: Any = None) -> dict[str, Any]:
    """Held-out accuracy of the shipped weights, through :class:`Router`, on the test split.

    ``confusion[true][predicted]`` counts test queries per level pair.
    """
    embedder = embedder or _embedder()
    router = Router(embedder.embed, model_id=embedder.model_id)
    result = _scores(router, load_queries("test", real=False))
    result["n_train"] = len(load_queries("train"))
    result["n_train_real"] = len(load_queries("train", real=True))
    real = load_queries("test", real=True)
    result["real"] = _scores(router, real) if real else None
    return result


def _scores(router: Router, test: list[dict[str, Any]]) -> dict[str, Any]:
    routes = router.classify_many([r["query"] for r in test])
    confusion = {t: {p: 0 for p in LEVELS} for t in LEVELS}
    for row, route in zip(test, routes):
        confusion[row["route"]][route.level] += 1
    n = len(test)
    return {
        "level_accuracy": sum(r["route"] == x.level for r, x in zip(test, routes)) / n,
        "global_accuracy": sum(bool(r["global"]) == x.global_ for r, x in zip(test, routes)) / n,
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
    parser.add_argument("--import-qa", type=Path, metavar="FILE",
                        help="first append the level-labelled questions of a vrag eval question file")
    parser.add_argument("--split", choices=("train", "test"), default="train", help="their split (with --import-qa)")
    args = parser.parse_args(argv)
    if args.check:
        return _check()
    if args.import_qa:
        print(f"{import_qa(args.import_qa, args.split)} questions from {args.import_qa} added to {DATA_PATH.name}")
    embedder = _embedder()
    started = time.perf_counter()
    weights = train(embedder)
    elapsed = time.perf_counter() - started
    result = evaluate(embedder)
    print(f"trained on {weights['n_train']} queries with {weights['model_id']} in {elapsed:.1f}s -> {WEIGHTS_PATH}")
    print(f"held-out ({result['n_test']} queries): level accuracy {result['level_accuracy']:.3f}, "
          f"global accuracy {result['global_accuracy']:.3f}")
    if result["real"]:
        print(f"held-out real questions ({result['real']['n_test']}): level accuracy "
              f"{result['real']['level_accuracy']:.3f}, global accuracy {result['real']['global_accuracy']:.3f}")
    print("confusion (rows: true, columns: predicted)")
    print(" " * 8 + "".join(f"{p:>8}" for p in LEVELS))
    for t in LEVELS:
        print(f"{t:>8}" + "".join(f"{result['confusion'][t][p]:>8}" for p in LEVELS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
