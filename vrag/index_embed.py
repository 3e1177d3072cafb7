"""Embedding a video's new text records, in batches, with progress."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .schema import Segment

__all__ = ["embed_records"]

#: Records per embedding call (and per progress event).
BATCH = 256


def embed_records(embedder: Any, segments: Sequence[Segment], emit: Callable[..., None]) -> None:
    """Set the vector of every record in ``segments`` that has text (and no vector yet: a stage
    may set one in the text space itself, e.g. the visual-concept captions)."""
    todo = [s for s in segments if s.text and s.vector is None]
    for i in range(0, len(todo), BATCH):
        emit("embed", float(i), float(len(todo)))
        part = todo[i : i + BATCH]
        vectors = embedder.embed([s.text for s in part])
        for seg, vec in zip(part, vectors):
            seg.vector = vec.tolist()
    emit("embed", float(len(todo)), float(len(todo)))
