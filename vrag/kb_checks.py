"""What the KnowledgeBase facade checks and resolves before it searches, and its re-embedding.

Kept apart from :mod:`vrag.kb` so the facade stays a thin list of entry points.
"""

from __future__ import annotations

import numbers
import os
from typing import Any, Callable

from .config import Config
from .errors import VragError
from .store import Store

__all__ = ["FILTER_KEYS", "MAX_K", "MAX_QUERY_CHARS", "check_text", "check_k", "check_filters", "resolve_filters",
           "reembed_store", "spoken_languages"]

#: Longest query or question accepted (characters): the text embedders read ~256 tokens anyway, and
#: entity linking over a pasted book would take minutes on a large graph.
MAX_QUERY_CHARS = 10_000
#: Most hits one search may ask for.
MAX_K = 10_000
#: The filters ``search``/``ask`` understand.
FILTER_KEYS = ("video_id", "modality", "start", "end", "speaker")


def resolve_filters(store: Store, filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """``video_id`` entries may be video ids, indexed paths or file names: make them ids."""
    check_filters(filters)
    unknown = sorted(str(key) for key in (filters or {}) if key not in FILTER_KEYS)
    if unknown:
        raise VragError(f"unknown filter {unknown[0]!r}: valid: {', '.join(FILTER_KEYS)}")
    if filters and filters.get("speaker") is not None:
        filters = dict(filters, speaker=_speaker_name(store, filters["speaker"]))
    if not filters or not filters.get("video_id"):
        return filters
    wanted = filters["video_id"]
    wanted = [wanted] if isinstance(wanted, str) else wanted
    if not isinstance(wanted, (list, tuple, set, frozenset)) or not all(isinstance(v, str) for v in wanted):
        raise VragError(f"video filter {filters['video_id']!r}: expected a video id, path or file name (or a list)")
    rows = store.videos.all()
    ids = []
    for value in wanted:
        found = [r["video_id"] for r in rows if value in (r["video_id"], r["path"], r["abs_path"])
                 or r["abs_path"] == os.path.abspath(value) or os.path.basename(r["path"]) == value]
        if not found:
            raise VragError(f"video filter {value!r}: no indexed video has that id, path or file name")
        ids += found
    return dict(filters, video_id=ids)


def _speaker_name(store: Store, wanted: Any) -> str:
    """The stored name a speaker filter means (any case; a first or last name alone when it is unique)."""
    from .speaker_library import known_speakers, resolve_speaker

    if not isinstance(wanted, str) or not wanted.strip():
        raise VragError(f"speaker filter {wanted!r}: expected a speaker's name or label")
    return resolve_speaker(known_speakers(store), wanted)


def spoken_languages(store: Store) -> dict[str, list[str]]:
    """Spoken languages per video id, as its profile record found them."""
    from .filters import Filter

    out = {}
    for seg in store.segments.read(Filter.of(None, "profile")):
        meta = seg.meta or {}
        out[seg.video_id] = list(meta.get("languages") or ([meta["language"]] if meta.get("language") else []))
    return out


def reembed_store(store: Store, config: Config, progress: Callable[[int, int], None] | None,
                  force: bool) -> dict[str, int]:
    """Re-embed the records of ``store`` whose vectors come from another model than ``config``'s."""
    import json

    from vrag.backends import get_backend
    from vrag.backends.text_embed import text_embedder
    from vrag.retrievers.visual import load_image

    done: dict[str, int] = {}
    text = text_embedder(config)
    if force or (store.segments.model() or (text.model_id,))[0] != text.model_id:
        done["segments"] = store.segments.reembed(text.embed, text.model_id, text.dim, progress)
    stored = store.frames.model()
    if stored is not None:
        image = get_backend("image_embed", config)
        if force or stored[0] != image.model_id:

            def from_thumbs(metas: list[str]) -> Any:
                return image.embed_images([load_image(store.files.read(json.loads(m)["thumb"])) for m in metas])

            done["frames"] = store.frames.reembed(from_thumbs, image.model_id, image.dim, progress, source="meta")
    return done


def check_text(text: Any, what: str) -> None:
    if not isinstance(text, str):
        raise VragError(f"the {what} must be text, not {type(text).__name__}")
    if len(text) > MAX_QUERY_CHARS:
        raise VragError(f"the {what} is {len(text)} characters long; at most {MAX_QUERY_CHARS} are accepted")


def check_k(k: Any) -> None:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise VragError(f"k={k!r}: the number of hits must be a whole number")
    if k < 1:
        raise VragError(f"k={k}: ask for at least one hit")
    if k > MAX_K:
        raise VragError(f"k={k}: at most {MAX_K} hits per search")


def check_filters(filters: Any) -> None:
    if filters is not None and not isinstance(filters, dict):
        raise VragError(f"filters must be a dict like {{'video_id': ..., 'modality': ...}}, not {type(filters).__name__}")
