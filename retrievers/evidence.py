"""Shaping a ranked hit list into evidence: adjacent hits of one video merged into one time span,
then a diverse selection (MMR) so the evidence covers the relevant scenes instead of repeating one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vrag.schema import Hit

__all__ = ["merge_adjacent", "mmr", "spread"]


def merge_adjacent(hits: list[Hit], gap: float = 1.5, max_span: float = 30.0) -> list[Hit]:
    """Hits of one video whose spans overlap or lie within ``gap`` seconds become one hit spanning
    them all (capped at ``max_span`` seconds), ranked where its best member was. Keyframes are
    never merged.

    The merged hit keeps its best member's record and score; its text is the members' text in time
    order, ``meta["parts"]`` lists every member (modality, start, end, text, segment_id; ``quote``: speech
    in another language with its English rendering, see :func:`~.pieces.bilingual`), and its
    ``why`` names the other modalities that joined it.
    """
    groups: list[list[Hit]] = []
    for hit in hits:  # best first: each hit joins the best-ranked group it touches
        s = hit.segment
        if s.modality == "frame":  # a keyframe is one picture at one instant: it stays itself
            groups.append([hit])
            continue
        for group in groups:
            if group[0].segment.modality == "frame":
                continue
            lo, hi = min(h.segment.start for h in group), max(h.segment.end for h in group)
            if (group[0].segment.video_id == s.video_id and s.start <= hi + gap and s.end >= lo - gap
                    and max(hi, s.end) - min(lo, s.start) <= max_span):
                group.append(hit)
                break
        else:
            groups.append([hit])
    return [_merged(group) if len(group) > 1 else group[0] for group in groups]


def _merged(group: list[Hit]) -> Hit:
    from .pieces import bilingual

    best = group[0]
    members = sorted(group, key=lambda h: (h.segment.start, h.segment.modality))
    parts = [{"modality": h.segment.modality, "start": h.segment.start, "end": h.segment.end,
              "text": h.segment.text, "segment_id": h.segment.segment_id} for h in members]
    for part, h in zip(parts, members):
        both = bilingual(h.segment)
        if both:  # speech in another language is quoted with its English, merged or not
            part["quote"] = both
    texts: list[str] = []
    for h in members:
        if h.segment.text and h.segment.text not in texts:
            texts.append(h.segment.text)
    segment = dataclasses.replace(
        best.segment,
        start=min(h.segment.start for h in group),
        end=max(h.segment.end for h in group),
        text="\n".join(texts),
        meta=dict(best.segment.meta, parts=parts),
        segment_id=best.segment.segment_id,
    )
    others = sorted({h.segment.modality for h in group[1:]} - {best.segment.modality})
    why = best.why + (f"; merged with {len(group) - 1} adjacent" + (f" ({', '.join(others)})" if others else ""))
    signals: dict[str, float] = {}
    for h in group:
        for key, value in h.signals.items():
            signals[key] = max(signals.get(key, value), value)
    return dataclasses.replace(best, segment=segment, why=why, signals=signals)


def mmr(hits: list[Hit], k: int, lam: float = 0.75) -> list[Hit]:
    """Maximal marginal relevance: pick ``k`` hits trading relevance (rank-normalised score)
    against similarity to the hits already picked (text vectors; same video and overlapping time
    counts as a near-repeat too)."""
    import numpy as np

    if len(hits) <= 1:
        return hits[:k]
    top = max(h.score for h in hits) or 1.0
    rel = [h.score / top for h in hits]
    vecs = [_unit(h.segment.vector) for h in hits]
    chosen: list[int] = []
    left = list(range(len(hits)))
    while left and len(chosen) < k:
        def value(i: int) -> float:
            if not chosen:
                return rel[i]
            sim = max(_similarity(hits[i], hits[j], vecs[i], vecs[j], np) for j in chosen)
            return lam * rel[i] - (1 - lam) * sim

        best = max(left, key=value)
        chosen.append(best)
        left.remove(best)
    return [hits[i] for i in chosen]


def _unit(vector: Any) -> Any:
    import numpy as np

    if vector is None:
        return None
    v = np.asarray(vector, dtype=np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n else None


def _similarity(a: Hit, b: Hit, va: Any, vb: Any, np: Any) -> float:
    sa, sb = a.segment, b.segment
    if sa.video_id == sb.video_id and sa.start < sb.end and sb.start < sa.end:
        return 1.0  # the same moment again
    if va is None or vb is None or va.shape != vb.shape:
        return 0.0
    return float(np.dot(va, vb))


def spread(hits: list[Hit], k: int, start: float, end: float) -> list[Hit]:
    """Up to ``k`` hits covering [start, end]: the best hit of each of ``k`` equal time bins
    (bins with no hit are skipped), in time order -- coverage for global questions."""
    if end <= start:
        return hits[:k]
    width = (end - start) / k
    best: dict[int, Hit] = {}
    for hit in hits:
        mid = (hit.segment.start + hit.segment.end) / 2
        b = min(k - 1, max(0, int((mid - start) / width)))
        if b not in best or hit.score > best[b].score:
            best[b] = hit
    return [best[b] for b in sorted(best)]
