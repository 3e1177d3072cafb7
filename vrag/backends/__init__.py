"""Built-in model backends (text embedding, ASR, OCR) and the per-process model cache."""

from __future__ import annotations

import threading
from typing import Any, Callable

from ..config import Config
from ..registry import resolve

__all__ = ["get_backend", "clear_backends", "resolve_device", "Lazy"]


class Lazy:
    """One value (a model, a client) made by ``create`` on first use, once, thread-safe."""

    def __init__(self, create: Callable[[], Any]):
        self._create = create
        self._value: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._value is None:
                self._value = self._create()
            return self._value

_CACHE: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def get_backend(kind: str, cfg: Config, name: str | None = None) -> Any:
    """The backend instance for ``kind`` as configured, created once per process.

    A backend class lists the settings it depends on in ``settings``; two configs
    that agree on those share one instance (so models load once per process).
    """
    name = name or str(cfg[_NAME_SETTING[kind]])
    cls = resolve(kind, name)
    key = (kind, name) + tuple((s, cfg[s]) for s in getattr(cls, "settings", ()))
    with _LOCK:
        backend = _CACHE.get(key)
        if backend is None:
            backend = _CACHE[key] = cls(cfg)
    return backend


def clear_backends() -> None:
    """Forget every cached backend (models are freed once nothing else holds them)."""
    with _LOCK:
        _CACHE.clear()


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible to torch, else ``cpu``."""
    if device != "auto":
        return device
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


_NAME_SETTING = {"text_embed": "text_embedder", "asr": "asr", "ocr": "ocr", "audio_events": "audio_events",
                 "image_embed": "image_embedder", "captioner": "captioner", "voice": "voice_encoder"}
