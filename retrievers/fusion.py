"""Reciprocal rank fusion of several ranked hit lists."""

from __future__ import annotations

import dataclasses

from vrag.schema import Hit

__all__ = ["rrf"]


def rrf(lists: list[list[Hit]], k: int, c: int = 60) -> list[Hit]:
    """Fuse ranked lists: score = sum of 1 / (c + rank). A record in several lists keeps its first
    ``why`` (and graph path) and the strongest of each of its signals."""
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    signals: dict[str, dict[str, float]] = {}
    for hits in lists:
        for rank, hit in enumerate(hits):
            key = hit.segment.segment_id
            scores[key] = scores.get(key, 0.0) + 1.0 / (c + rank + 1)
            first.setdefault(key, hit)
            merged = signals.setdefault(key, {})
            for name, value in hit.signals.items():
                merged[name] = max(merged.get(name, value), value)
    order = sorted(scores, key=lambda key: -scores[key])[:k]
    return [dataclasses.replace(first[key], score=scores[key], signals=signals[key]) for key in order]
