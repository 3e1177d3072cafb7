"""vrag: a local-first retrieval-augmented video knowledge base.

Nothing heavy happens at import: models load lazily, once per process.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = [
    "KnowledgeBase",
    "Config",
    "Segment",
    "VideoRef",
    "Hit",
    "Answer",
    "SearchResult",
    "AskResult",
    "VragError",
    "ProgressEvent",
    "IndexReport",
]

_LAZY = {
    "KnowledgeBase": "vrag.kb",
    "Config": "vrag.config",
    "Segment": "vrag.schema",
    "VideoRef": "vrag.schema",
    "Hit": "vrag.schema",
    "Answer": "vrag.schema",
    "SearchResult": "vrag.results",
    "AskResult": "vrag.results",
    "VragError": "vrag.errors",
    "ProgressEvent": "vrag.pipeline",
    "IndexReport": "vrag.pipeline",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vrag' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
