"""Planning a run from the stages' declarations: fingerprints, what to redo, whose problem is whose.

Every stage has a fingerprint made of the settings it declares and its version. A video
stores the fingerprint of each stage that succeeded; a later run redoes a stage only when
its fingerprint changed (or the file did), and replaces only the records that stage
writes. A derived stage (one that ``reads`` others, e.g. ``units``: shot/window/chapter
records built from speech and screen text) is redone whenever an input is. Nothing here
lists stages: they come from the registry (:func:`declared`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Sequence

from .config import Config
from .errors import ConfigError

__all__ = ["declared", "wanted", "plan", "helpers", "parse_recipe", "owners", "fingerprint"]

#: What a stage class looks like to the planner (:class:`vrag.indexers.Stage`).
StageClass = Any


def declared() -> dict[str, StageClass]:
    """Every registered stage, each after the stages it reads or uses (else in registry order)."""
    from .registry import registered

    return ordered(registered("stage"))


def ordered(stages: Mapping[str, StageClass]) -> dict[str, StageClass]:
    """``stages`` in a stable order where every stage comes after those it reads or uses."""
    out: dict[str, StageClass] = {}
    left = dict(stages)
    while left:
        ready = next((n for n, cls in left.items()
                      if all(d in out or d not in stages for d in (*cls.reads, *cls.uses))), None)
        if ready is None:
            raise ConfigError(f"stages {', '.join(left)} read each other in a circle")
        out[ready] = left.pop(ready)
    return out


def active(cfg: Config, stages: Mapping[str, StageClass]) -> list[str]:
    """The stages this config runs: the configured ones, plus implicit ones whose inputs run."""
    on = set(cfg.stages)
    out = []
    for name, cls in stages.items():
        if name in on or (cls.implicit and any(i in out for i in cls.reads)):
            out.append(name)
    return out


def fingerprint(cls: StageClass, cfg: Config, media_path: str) -> str:
    """A stage's fingerprint: its declared settings, its version, and the file's extras (subtitles)."""
    parts: dict[str, Any] = {k: cfg[k] for k in cls.settings}
    parts["version"] = cls.version_tag()
    for setting, value, more in cls.settings_when:
        if cfg[setting] == value:
            parts.update({k: cfg[k] for k in more})
    parts.update(cls.fingerprint_extra(cfg, media_path))
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


def wanted(cfg: Config, media_path: str, stages: Mapping[str, StageClass] | None = None) -> dict[str, str]:
    """Fingerprint of every stage this config runs on ``media_path`` (derived stages included)."""
    stages = declared() if stages is None else stages
    return {name: fingerprint(stages[name], cfg, media_path) for name in active(cfg, stages)}


def plan(stages: Mapping[str, StageClass], want: Mapping[str, str], stored: Mapping[str, str]) -> list[str]:
    """Stages to run, in order: changed fingerprints, plus derived stages whose inputs run.

    A pure function of the declarations (``stages``, in run order), the fingerprints this run
    wants and those stored with the video."""
    need = {s for s, fp in want.items() if stored.get(s) != fp}
    for name, cls in stages.items():
        if name in want and any(i in need for i in cls.reads):
            need.add(name)
    return [name for name in stages if name in need]


def helpers(stages: Mapping[str, StageClass], need: Sequence[str], configured: Sequence[str]) -> list[str]:
    """Configured stages that must run alongside ``need`` for their work in this run (not redone)."""
    out = [u for name in need for u in stages[name].uses if u not in need and u in configured and u in stages]
    return [name for name in stages if name in out]


def parse_recipe(value: Any) -> dict[str, str]:
    """A stored per-stage recipe (JSON object); anything else counts as nothing done."""
    if isinstance(value, dict):
        return dict(value)
    try:
        data = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {}
    return dict(data) if isinstance(data, dict) else {}


def owners(message: str, stages: Mapping[str, StageClass]) -> tuple[str, ...]:
    """The stages a problem message stored by an earlier run ("ocr: ...", "frames: ...") belongs to.

    Only for what was stored: problems of this run carry their stages (:class:`Problem`)."""
    head = message.split(":", 1)[0].strip()
    if head == "frames":  # the shared decode: every stage that looks at pictures
        return tuple(name for name, cls in stages.items() if cls.wants_frames())
    for name, cls in stages.items():
        if cls.title() == head:
            return (name,)
    return (head,)
