"""One registry for every pluggable part: backends, stages, generators, routers, graph extractors, engines.

``@register("asr", "faster-whisper")`` on a class makes it selectable by config;
``"package.module:Class"`` works for parts that live outside vrag. Built-in parts are
found by importing the modules listed in :data:`_BUILTIN_MODULES` for their kind, so
nothing heavy is imported until a part is asked for. Kinds with a base class in
:data:`_BASES` check it when a class is registered or named: a class of the wrong
kind is a :class:`ConfigError` naming it. Third-party stages also load from the
entry-point group ``vrag.stages`` (see README "Writing a stage").
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, TypeVar

from .errors import ConfigError, MissingDependencyError

__all__ = ["register", "resolve", "names", "registered", "require", "ENTRY_POINT_GROUPS"]

T = TypeVar("T")

_REGISTRY: dict[str, dict[str, type]] = {}

#: Modules that register the built-in parts of each kind when imported (in this order).
_BUILTIN_MODULES: dict[str, tuple[str, ...]] = {
    "text_embed": ("vrag.backends.text_embed",),
    "asr": ("vrag.backends.asr",),
    "ocr": ("vrag.backends.ocr",),
    "audio_events": ("vrag.backends.audio_events",),
    "image_embed": ("vrag.backends.image_embed",),
    "captioner": ("vrag.backends.captioner",),
    "voice": ("vrag.backends.voice",),
    # stage order here is the order of the `stages` setting's choices and of a run
    "stage": (
        "vrag.indexers.scenes", "vrag.indexers.asr", "vrag.indexers.ocr", "vrag.indexers.keyframes",
        "vrag.indexers.captions", "vrag.indexers.audio_events", "vrag.indexers.graph", "vrag.indexers.granularity",
        "vrag.indexers.profile",
        "vrag.indexers.speakers",  # issue 18: runs after asr and ocr (it reads them), before graph (which reads it)
    ),
    "generator": ("vrag.retrievers.generate",),
    "router": ("vrag.retrievers.router", "vrag.retrievers.router_llm"),
    "graph_extractor": ("vrag.indexers.graph_extract", "vrag.indexers.graph_llm"),
    "engine": ("vrag.pipeline", "vrag.engine_ray"),
}

#: The class every part of a kind must subclass ("module:Class", imported only to check).
_BASES: dict[str, str] = {
    "stage": "vrag.indexers.base:Stage",
    "engine": "vrag.pipeline:Engine",
}

#: Methods every part of a kind must have (kinds without a common base class).
_METHODS: dict[str, tuple[str, ...]] = {
    "generator": ("answer", "from_config"),
    "router": ("classify", "from_config"),
    "graph_extractor": ("extract",),
}

#: Entry-point group that third-party packages register parts of a kind in.
ENTRY_POINT_GROUPS: dict[str, str] = {"stage": "vrag.stages"}

_loaded_entry_points: set[str] = set()
#: Third-party parts whose entry point failed to load, by kind and name: raised when they are used.
_broken: dict[str, dict[str, ConfigError]] = {}


def register(kind: str, name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: make a part selectable as ``name`` for ``kind`` (its type is checked)."""

    def deco(cls: type[T]) -> type[T]:
        _check(kind, name, cls)
        _REGISTRY.setdefault(kind, {})[name] = cls
        return cls

    return deco


def names(kind: str) -> list[str]:
    """Registered names of ``kind``: built-ins in their module order, then the rest as registered."""
    return list(registered(kind))


def registered(kind: str, strict: bool = True) -> dict[str, type]:
    """Every registered part of ``kind`` by name, built-ins first in their module order.

    A third-party part that could not be loaded raises its :class:`ConfigError` here (``strict``)
    or is left out (listing choices for help text and settings)."""
    _load_builtins(kind)
    if strict and _broken.get(kind):
        raise next(iter(_broken[kind].values()))
    table = _REGISTRY.get(kind, {})
    modules = _BUILTIN_MODULES.get(kind, ())
    rank = {name: (modules.index(cls.__module__) if cls.__module__ in modules else len(modules))
            for name, cls in table.items()}
    return {name: table[name] for name in sorted(table, key=lambda n: rank[n])}  # sorted() is stable


def resolve(kind: str, name: str) -> type:
    """The class for ``name`` (a registered name or ``module:Class``)."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
            cls = getattr(module, attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"{kind} backend {name!r} cannot be imported: {exc}") from exc
        _check(kind, name, cls)
        return cls
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


def _check(kind: str, name: str, cls: Any) -> None:
    """A part of the wrong type is a configuration error that names it."""
    what = f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', repr(cls))}"
    if not isinstance(cls, type):
        raise ConfigError(f"{kind} {name!r}: {what} is not a class")
    base = _BASES.get(kind)
    if base is not None:
        module_name, _, attr = base.partition(":")
        expected = getattr(importlib.import_module(module_name), attr)
        if not issubclass(cls, expected):
            raise ConfigError(f"{kind} {name!r}: {what} is not a subclass of {attr} ({base.replace(':', '.')})")
    missing = [m for m in _METHODS.get(kind, ()) if not callable(getattr(cls, m, None))]
    if missing:
        raise ConfigError(f"{kind} {name!r}: {what} lacks {', '.join(m + '()' for m in missing)}")


def _load_builtins(kind: str) -> None:
    for module in _BUILTIN_MODULES.get(kind, ()):
        importlib.import_module(module)
    group = ENTRY_POINT_GROUPS.get(kind)
    if group is not None and group not in _loaded_entry_points:
        _loaded_entry_points.add(group)
        _load_entry_points(kind, group)


def _load_entry_points(kind: str, group: str) -> None:
    """Register the parts third-party packages declare in ``group`` (``name = module:Class``); one
    that cannot be loaded is kept as its error, raised when the parts of ``kind`` are used."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=group):
        try:
            try:
                cls = ep.load()
            except Exception as exc:  # a broken plugin is named, not a traceback
                raise ConfigError(f"{kind} {ep.name!r} from entry point {ep.value!r} ({group}) cannot be loaded: "
                                  f"{type(exc).__name__}: {exc}") from exc
            taken = _REGISTRY.get(kind, {}).get(ep.name)
            if taken is not None and taken is not cls:
                raise ConfigError(f"{kind} {ep.name!r} from entry point {ep.value!r} ({group}): the name is taken "
                                  f"by {taken.__module__}.{taken.__qualname__}")
            register(kind, ep.name)(cls)
        except ConfigError as exc:
            _broken.setdefault(kind, {})[ep.name] = exc
