"""Naive retrieval: vector top-k over the text segments."""

from __future__ import annotations

import re
from typing import Any

from vrag.schema import Hit
from vrag.store import Store, sql_quote

__all__ = ["NaiveRetriever", "filter_clause", "default_modalities"]

#: Fine-grained modalities searched by default. Shots, windows and chapters are coarser views of the
#: same speech and screen text (a talk's one shot holds all of it): they serve global questions.
DEFAULT_MODALITIES = ("asr", "ocr", "caption")
#: Sound-event records ("speech", "music") are one word each: searched only when the query is about sound.
_SOUND = re.compile(r"\b(?:music\w*|songs?|sing\w*|sound\w*|audio|nois\w*|silen\w*|applau\w*|laugh\w*|"
                    r"soundtrack|melod\w*|tune|beat|quiet)\b", re.I)


def default_modalities(query: str = "") -> tuple[str, ...]:
    """What a query searches when no modality filter is given."""
    return DEFAULT_MODALITIES + (("audio_event",) if _SOUND.search(query) else ())


def filter_clause(filters: dict[str, Any] | None, query: str = "") -> str:
    """Lance SQL for ``{"video_id": ..., "modality": [...], "start": s, "end": e}``."""
    filters = dict(filters or {})
    parts = []
    modalities = filters.get("modality") or default_modalities(query)
    if isinstance(modalities, str):
        modalities = [modalities]
    parts.append("modality IN (" + ", ".join(sql_quote(m) for m in modalities) + ")")
    if filters.get("video_id"):
        ids = filters["video_id"]
        ids = [ids] if isinstance(ids, str) else list(ids)
        parts.append("video_id IN (" + ", ".join(sql_quote(i) for i in ids) + ")")
    if filters.get("start") is not None:
        parts.append(f"`end` >= {float(filters['start'])}")
    if filters.get("end") is not None:
        parts.append(f"start <= {float(filters['end'])}")
    return " AND ".join(parts)


class NaiveRetriever:
    def __init__(self, store: Store, embedder: Any):
        self.store = store
        self.embedder = embedder

    def retrieve(self, query: str, k: int = 10, filters: dict[str, Any] | None = None) -> list[Hit]:
        vector = self.embedder.embed([query])[0]
        found = self.store.vector_search(vector, k, where=filter_clause(filters, query), model_id=self.embedder.model_id)
        paths = self.store.paths(seg.video_id for seg, _ in found)
        return [
            Hit(seg, score, f"{seg.modality}: vector similarity {score:.2f}", paths.get(seg.video_id, seg.uri),
                {"similarity": score})
            for seg, score in found
        ]
