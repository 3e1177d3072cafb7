"""Visual-concept hits: caption records whose vector is a keyframe's ImageNet posterior projected into
the text space (:mod:`vrag.backends.concepts`): their weight against speech and screen text, and a
"why" that names the concepts that matched."""

from __future__ import annotations

from typing import Any

from vrag.schema import Hit
from vrag.timecode import mmss

__all__ = ["is_concept", "explain_concepts", "weigh_concepts", "CONCEPT_WEIGHT"]

#: Weight of a visual-concept record's similarity against speech and screen text in one ranking
#: (measured with benchmarks/bench_visual.py: visual questions gain, speech/screen questions do not lose).
CONCEPT_WEIGHT = 0.9
#: A concept is named in a hit's "why" when its own name is at least this close to the query.
_NAMED = 0.25


def is_concept(seg: Any) -> bool:
    """A visual-concept record (a keyframe's posterior in the text space)?"""
    return seg.modality == "caption" and (seg.meta or {}).get("kind") == "concepts"


def weigh_concepts(hits: list[Hit], weight: float = CONCEPT_WEIGHT) -> list[Hit]:
    """``hits`` re-ranked with each visual-concept hit's score scaled by ``weight`` (its
    similarity kept as the ``visual`` signal)."""
    out = []
    for hit in hits:
        if is_concept(hit.segment):
            hit.signals["visual"] = hit.score
            hit.score *= weight
        out.append(hit)
    return sorted(out, key=lambda h: -h.score)


def explain_concepts(hits: list[Hit], query_vector: Any, embedder: Any) -> None:
    """Give each visual-concept hit the "why" "seen at 00:12: golf cart, wreath (visual match 0.41)":
    the concepts of its keyframe whose names are closest to the query (one embedding call)."""
    import numpy as np

    todo = [h for h in hits if is_concept(h.segment)]
    names = sorted({str(n) for h in todo for n, _p in h.segment.meta.get("concepts", [])})
    if not names:
        return
    sims = dict(zip(names, (np.asarray(embedder.embed(names), dtype=np.float32) @ np.asarray(query_vector)).tolist()))
    for hit in todo:
        concepts = [(str(n), float(p)) for n, p in hit.segment.meta.get("concepts", [])]
        ranked = sorted(concepts, key=lambda c: -sims[c[0]])
        named = [n for n, _p in ranked if sims[n] >= _NAMED][:3] or [n for n, _p in ranked[:1]]
        match = hit.signals.get("visual", hit.signals.get("similarity", hit.score))
        hit.why = f"seen at {mmss(hit.segment.start)}: {', '.join(named)} (visual match {match:.2f})"
        hit.signals.setdefault("visual", match)
