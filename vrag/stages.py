"""Indexing stages: what each depends on and writes, so runs redo only what changed.

Every stage has a fingerprint made of the settings it reads and its indexer's
version. A video stores the fingerprint of each stage that succeeded; a later run
redoes a stage only when its fingerprint changed (or the file did), and replaces
only the records that stage writes. ``units`` (shot/window/chapter records, built
from speech and screen text) is derived: it is redone whenever an input is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from .config import STAGES, Config

__all__ = ["WRITES", "wanted", "todo", "parse_recipe", "owner"]

_SETTINGS: dict[str, tuple[str, ...]] = {
    "shot": ("scene_threshold", "scene_fps", "scene_min_seconds"),
    "asr": ("text_embedder", "asr", "asr_model", "asr_language", "asr_vad", "asr_beam_size", "asr_batch_size",
            "use_subtitles"),
    "ocr": ("text_embedder", "ocr", "ocr_interval", "ocr_min_confidence", "ocr_change_threshold", "ocr_max_side"),
    "frame": ("image_embedder", "clip_model", "keyframe_interval", "keyframe_similarity", "tag_min_prob",
              "thumb_width", "scene_threshold", "scene_fps", "scene_min_seconds"),
    "audio_event": ("text_embedder", "audio_events"),
    "units": ("text_embedder", "window_seconds", "chapter_seconds"),
    "caption": ("text_embedder", "captioner", "vlm_provider", "vlm_model", "vlm_base_url"),
    "graph": ("text_embedder", "graph_extractor"),
}
#: Settings that only matter to a stage when another setting selects them.
_WHEN: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "graph": ("graph_extractor", "llm", ("llm_provider", "llm_model", "llm_base_url")),
}
#: Record modalities each stage owns (and replaces when it runs).
WRITES: dict[str, tuple[str, ...]] = {
    "shot": (),  # shot spans; the shot records themselves are written by "units"
    "asr": ("asr",),
    "ocr": ("ocr",),
    "frame": ("frame",),
    "audio_event": ("audio_event",),
    "units": ("shot", "window", "chapter"),
    "caption": ("caption",),
    "graph": (),  # its own tables (mentions -> entities, relations)
}
#: Derived stages and the stages whose output they are built from.
DERIVED: dict[str, tuple[str, ...]] = {
    "units": ("shot", "asr", "ocr"),
    "caption": ("frame", "asr", "ocr"),
    "graph": ("asr", "ocr", "caption"),
}


def _versions() -> dict[str, str]:
    from vrag.indexers import build_indexers
    from vrag.indexers.captions import PRODUCER as CAPTION_PRODUCER
    from vrag.indexers.graph_extract import PRODUCER as GRAPH_PRODUCER
    from vrag.indexers.granularity import PRODUCER_VERSION

    out = {ix.modality: f"{ix.name}-{ix.version}" for ix in build_indexers([s for s in STAGES if s not in DERIVED])}
    out["units"] = PRODUCER_VERSION
    out["caption"] = CAPTION_PRODUCER
    out["graph"] = GRAPH_PRODUCER
    return out


def wanted(cfg: Config, sidecar: Path | None) -> dict[str, str]:
    """Fingerprint of every stage this config runs (derived stages included)."""
    stages = [s for s in cfg.stages if s not in DERIVED]
    for derived, inputs in DERIVED.items():
        # a named stage (caption) runs when asked for; an implicit one (units) whenever its inputs do
        if derived in cfg.stages or (derived not in STAGES and any(i in stages for i in inputs)):
            stages.append(derived)
    versions = _versions()
    out = {}
    for stage in stages:
        parts: dict[str, Any] = {k: cfg[k] for k in _SETTINGS[stage]}
        parts["version"] = versions[stage]
        if stage in _WHEN and cfg[_WHEN[stage][0]] == _WHEN[stage][1]:
            parts.update({k: cfg[k] for k in _WHEN[stage][2]})
        if stage == "asr" and sidecar is not None and cfg.use_subtitles:
            st = sidecar.stat()
            parts["sidecar"] = [sidecar.name, st.st_size, st.st_mtime_ns]
        blob = json.dumps(parts, sort_keys=True, default=str)
        out[stage] = hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()
    return out


def todo(want: Mapping[str, str], stored: Mapping[str, str]) -> list[str]:
    """Stages to run: changed fingerprints, plus derived stages whose inputs run."""
    need = [s for s, fp in want.items() if stored.get(s) != fp]
    for derived, inputs in DERIVED.items():
        if derived in want and derived not in need and any(i in need for i in inputs):
            need.append(derived)
    order = list(_SETTINGS)
    return sorted(need, key=order.index)


def parse_recipe(value: Any) -> dict[str, str]:
    """A stored per-stage recipe (JSON object); anything else counts as nothing done."""
    if isinstance(value, dict):
        return dict(value)
    try:
        data = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {}
    return dict(data) if isinstance(data, dict) else {}


def owner(message: str) -> Iterable[str]:
    """Stages a stored problem message ("ocr: ...", "frames: ...") belongs to."""
    head = message.split(":", 1)[0].strip()
    if head == "frames":
        return ("shot", "ocr")
    if head == "shots":
        return ("shot",)
    return (head,)
