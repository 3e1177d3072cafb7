"""Model backends registered by kind and name.

``@register("asr", "faster-whisper")`` on a class makes it selectable by config;
``"package.module:Class"`` works for backends that live outside vrag. Built-in
backends are found by importing the module listed in :data:`_BUILTIN_MODULES`
for their kind, so nothing heavy is imported until a backend is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, TypeVar

from .errors import ConfigError, MissingDependencyError

__all__ = ["register", "resolve", "names", "require"]

T = TypeVar("T")

_REGISTRY: dict[str, dict[str, type]] = {}

#: Module that registers the built-in backends of each kind when imported.
_BUILTIN_MODULES: dict[str, str] = {
    "text_embed": "vrag.backends.text_embed",
    "asr": "vrag.backends.asr",
    "ocr": "vrag.backends.ocr",
    "audio_events": "vrag.backends.audio_events",
    "image_embed": "vrag.backends.image_embed",
    "captioner": "vrag.backends.captioner",
}


def register(kind: str, name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: make a backend selectable as ``name`` for ``kind``."""

    def deco(cls: type[T]) -> type[T]:
        _REGISTRY.setdefault(kind, {})[name] = cls
        return cls

    return deco


def names(kind: str) -> list[str]:
    """Registered backend names of ``kind``."""
    _load_builtins(kind)
    return sorted(_REGISTRY.get(kind, {}))


def resolve(kind: str, name: str) -> type:
    """The backend class for ``name`` (a registered name or ``module:Class``)."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
            return getattr(module, attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"{kind} backend {name!r} cannot be imported: {exc}") from exc
    _load_builtins(kind)
    try:
        return _REGISTRY[kind][name]
    except KeyError:
        valid = ", ".join(sorted(_REGISTRY.get(kind, {}))) or "none"
        raise ConfigError(
            f"unknown {kind} backend {name!r}; valid: {valid} (or 'module:Class')"
        ) from None


def require(module: str, feature: str, extra: str) -> Any:
    """Import an optional dependency or raise the exact ``pip install`` to run."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(feature, module, extra) from exc


def _load_builtins(kind: str) -> None:
    module = _BUILTIN_MODULES.get(kind)
    if module is not None:
        importlib.import_module(module)
