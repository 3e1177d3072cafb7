"""Reciprocal rank fusion of several ranked hit lists."""

from __future__ import annotations

from vrag.schema import Hit

__all__ = ["rrf"]


def rrf(lists: list[list[Hit]], k: int, c: int = 60) -> list[Hit]:
    """Fuse ranked lists: score = sum of 1 / (c + rank). A record in several lists keeps its first ``why``."""
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for hits in lists:
        for rank, hit in enumerate(hits):
            key = hit.segment.segment_id
            scores[key] = scores.get(key, 0.0) + 1.0 / (c + rank + 1)
            first.setdefault(key, hit)
    order = sorted(scores, key=lambda key: -scores[key])[:k]
    return [Hit(first[key].segment, scores[key], first[key].why, first[key].path) for key in order]
