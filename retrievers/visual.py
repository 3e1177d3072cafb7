"""Visual retrieval over keyframes: by example image, or by text when the image model is CLIP (the
default model's keyframes are reached by text through their concept records: :mod:`.seen`)."""

from __future__ import annotations

import os
from typing import Any

from vrag.backends import get_backend
from vrag.config import Config
from vrag.errors import MediaError
from vrag.schema import Hit
from vrag.store import Store

from .naive import record_filter

__all__ = ["VisualRetriever", "load_image"]


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
