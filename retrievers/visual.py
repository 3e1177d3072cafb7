"""Visual retrieval over keyframes: by example image, or by text when the image model is CLIP; and
the "why" of visual-concept hits (caption records whose vector is a keyframe's ImageNet posterior
projected into the text space, see :mod:`vrag.backends.concepts`)."""

from __future__ import annotations

import os
from typing import Any

from vrag.backends import get_backend
from vrag.config import Config
from vrag.errors import MediaError
from vrag.schema import Hit
from vrag.timecode import mmss
from vrag.store import Store

from .naive import record_filter

__all__ = ["VisualRetriever", "load_image", "is_concept", "explain_concepts", "weigh_concepts", "CONCEPT_WEIGHT"]

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


def load_image(image: str | os.PathLike[str] | bytes | Any) -> Any:
    """An RGB uint8 array from a path or the bytes of an image (any format Pillow reads), or an
    array passed through."""
    if isinstance(image, (bytes, bytearray)):
        import io

        image = io.BytesIO(image)
    elif not isinstance(image, (str, os.PathLike)):
        return image
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image) as img:
            return np.asarray(img.convert("RGB"))
    except FileNotFoundError:
        raise MediaError(image, "no such image file") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise MediaError(image, f"not a readable image ({exc})") from exc


class VisualRetriever:
    def __init__(self, store: Store, cfg: Config):
        self.store = store
        self.cfg = cfg

    def _backend(self) -> Any:
        return get_backend("image_embed", self.cfg)

    def can_search_text(self) -> bool:
        return self.store.frames.model() is not None and bool(getattr(self._backend(), "can_embed_text", False))

    def by_image(self, image: Any, k: int = 10, filters: dict[str, Any] | None = None) -> list[Hit]:
        backend = self._backend()
        vector = backend.embed_images([load_image(image)])[0]
        return self._search(vector, k, filters, "visual similarity to the image")

    def by_text(self, query: str, k: int = 10, filters: dict[str, Any] | None = None) -> list[Hit]:
        vector = self._backend().embed_text([query])[0]
        return self._search(vector, k, filters, "text-to-image similarity")

    def _search(self, vector: Any, k: int, filters: dict[str, Any] | None, why: str) -> list[Hit]:
        backend = self._backend()
        where = record_filter(dict(filters or {}, modality="frame"))
        found = self.store.frames.vector_search(vector, k, where=where, model_id=backend.model_id)
        paths = self.store.videos.paths(seg.video_id for seg, _ in found)
        return [
            Hit(seg, score, f"frame: {why} {score:.2f}", paths.get(seg.video_id, seg.uri), {"image": score})
            for seg, score in found
        ]
