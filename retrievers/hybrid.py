"""Hybrid retrieval: text vectors + full-text (BM25) + visual, fused by reciprocal rank fusion,
adjacent hits merged into one time span, then a diverse pick (MMR).

This is LanceDB's vector+FTS hybrid search with an RRF reranker, done as two queries so every
hit keeps its own evidence (similarity, matched words) for the "why". Keyframes join through
text-to-image search when the image model is CLIP; with the default model, what is seen is
searched through captions and shot tags, which are text records.

Global questions ("summarize the talk") get :meth:`HybridRetriever.coverage` instead of top-k:
the best window of each part of the video, so the evidence spans the whole video (DIG's finding).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from vrag.config import Config
from vrag.filters import Filter
from vrag.schema import Hit, Segment
from vrag.store import Store

from .evidence import merge_adjacent, mmr, spread
from .fusion import rrf
from .naive import cap_sound, record_filter
from .query_terms import matched, terms
from .seen import explain_concepts
from .visual import VisualRetriever

__all__ = ["HybridRetriever"]

#: Candidates fetched from each list per requested hit (fusion and MMR need a pool to choose from).
POOL = 5


class HybridRetriever:
    def __init__(self, store: Store, cfg: Config, embedder: Any):
        self.store = store
        self.cfg = cfg
        self.embedder = embedder

    def retrieve(self, query: str, k: int = 10, filters: dict[str, Any] | None = None) -> list[Hit]:
        vector = self.embedder.embed([query])[0]
        pool = max(30, POOL * k)
        where = record_filter(filters, query)
        words = terms(query)
        by_vector = self.store.segments.vector_search(vector, pool, where=where, model_id=self.embedder.model_id)
        by_words = self.store.segments.fts_search(query, pool, where=where)
        paths = self.store.videos.paths({s.video_id for s, _ in by_vector} | {s.video_id for s, _ in by_words})
        lists = [
            [self._hit(seg, vector, words, paths) for seg, _score in by_vector],
            [self._hit(seg, vector, words, paths) for seg, _score in by_words],
        ]
        visual = VisualRetriever(self.store, self.cfg)
        if visual.can_search_text() and (filters or {}).get("modality") in (None, "frame", ["frame"]):
            lists.append(visual.by_text(query, k=pool, filters=filters))
        fused = cap_sound(rrf([hits for hits in lists if hits], pool), filters)
        explain_concepts(fused[: 2 * k], vector, self.embedder)  # named before merging: a merged hit keeps its best's why
        return mmr(merge_adjacent(fused[: 2 * k]), k)

    def _hit(self, seg: Segment, query_vector: Any, words: list[str], paths: dict[str, str]) -> Hit:
        import numpy as np

        similarity = float(np.dot(np.asarray(seg.vector, dtype=np.float32), query_vector)) if seg.vector else 0.0
        found = matched(words, seg.text)
        why = f"{seg.modality}: similarity {similarity:.2f}"
        if found:
            why += f", words: {', '.join(found)}"
        signals = {"similarity": similarity, "words": len(found) / len(words) if words else 0.0}
        return Hit(seg, similarity, why, paths.get(seg.video_id, seg.uri), signals)

    def named_video(self, query: str) -> str | None:
        """The one video whose file name the query names ("summarize the NIH talk" and
        nih_twin_study_talk.mp4; "the GNOME video"), or None when no name, or several, match."""
        words = set(terms(query))
        if not words:
            return None
        named = [row["video_id"] for row in self.store.videos.all()
                 if words & set(terms(" ".join(re.split(r"[\W_\d]+", Path(str(row.get("path") or "")).stem))))]
        return named[0] if len(named) == 1 else None

    def coverage(self, query: str, k: int = 10, filters: dict[str, Any] | None = None) -> list[Hit]:
        """Evidence spread over the video the question is about: in each of ``k`` equal parts, the
        record that best stands for the video (close to its mean meaning) and the question, in time
        order. The video is the filtered one, or the one the best localized hits come from."""
        filters = dict(filters or {})
        video = filters.get("video_id")
        if isinstance(video, (list, tuple)):
            video = video[0] if len(video) == 1 else None
        if not video:
            video = self.named_video(query) or self._likeliest_video(query, k, filters)
        if not video:
            return []
        import numpy as np

        vector = self.embedder.embed([query])[0]
        words = terms(query)
        paths = self.store.videos.paths([video])
        for modalities in (("asr", "ocr", "caption"), ("window", "shot")):  # precise spans first
            where = record_filter(dict(filters, video_id=video, modality=list(modalities))).narrow(has_text=True)
            segs = [s for s in self.store.segments.read(where) if s.vector]
            if segs:
                break
        else:
            return []
        vectors = np.asarray([s.vector for s in segs], dtype=np.float32)
        centre = vectors.mean(axis=0)
        centre /= float(np.linalg.norm(centre)) or 1.0
        hits = []
        for seg, v in zip(segs, vectors):
            hit = self._hit(seg, vector, words, paths)
            typical = float(v @ centre) * min(1.0, len(seg.text) / 60)  # stands for the video, not a fragment
            hit.score = 0.5 * hit.score + typical
            hit.why = f"global: part of {paths.get(video, video)}, typical {typical:.2f}; " + hit.why
            hits.append(hit)
        row = self.store.videos.get(video)
        end = float(row["duration"]) if row and row.get("duration") else max(s.end for s in segs)
        covered = spread(hits, k, float(filters.get("start") or 0.0), float(filters.get("end") or end))
        profile = self.store.segments.read(Filter.of(video, "profile"))
        if profile:  # what the whole video is about leads an overview of it
            covered.insert(0, Hit(profile[0], 1.0, f"profile of {paths.get(video, video)}",
                                  paths.get(video, profile[0].uri), {"similarity": 1.0}))
        return covered

    def _likeliest_video(self, query: str, k: int, filters: dict[str, Any]) -> str | None:
        """The video a question about "the video" most likely means: its profile (what it is about)
        closest to the question, with the weight of the best localized hits added; without
        profiles, the hits alone."""
        import numpy as np

        best = self.retrieve(query, k=k, filters=filters)
        totals: dict[str, float] = {}
        for hit in best:
            totals[hit.segment.video_id] = totals.get(hit.segment.video_id, 0.0) + hit.score
        share = {v: t / (sum(totals.values()) or 1.0) for v, t in totals.items()}
        ids = filters.get("video_id")
        profiles = [p for p in self.store.segments.read(Filter.of(ids or None, "profile")) if p.vector]
        if profiles:
            q = np.asarray(self.embedder.embed([query])[0], dtype=np.float32)
            words = terms(query)
            score = {p.video_id: float(np.asarray(p.vector, dtype=np.float32) @ q)
                     + 0.3 * (len(matched(words, p.text)) / len(words) if words else 0.0)
                     + 0.3 * share.get(p.video_id, 0.0) for p in profiles}
            return max(score, key=score.__getitem__)
        return max(totals, key=totals.__getitem__) if totals else None
