"""Import-time costs the query path need not pay.

LanceDB imports the REST client of Lance namespaces (``lance_namespace_urllib3_client``) at import time,
whose package body imports every API class, each method wrapped in pydantic's ``validate_call`` (~370
validators built: about half of ``import lancedb``). A local or object-store knowledge base only needs
the client's request models. :func:`defer_lance_rest_client` makes the package body run on first use of
one of its names instead; its submodules (the models) import as usual.

spaCy's thinc imports torch at import time only to offer it as a backend (``thinc.compat``); the packaged
en_core_web_sm runs on numpy and never uses it, yet that import is most of a cold ``vrag ask``'s wait
(seconds on a small machine). :func:`thinc_without_torch` hides torch from that one import.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ["thinc_without_torch", "defer_lance_rest_client"]

_REST_CLIENT = "lance_namespace_urllib3_client"
_LOCK = threading.RLock()  # reentrant: the package body may look itself up while it runs


class _NoTorchForThinc:
    """A meta-path finder that answers ``import torch`` with ImportError when thinc.compat asks, and only
    then: the importing thread's stack is checked, so other threads (and later imports) get torch as usual."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torch" or name.startswith("torch."):
            frame = sys._getframe(1)
            while frame is not None:
                if frame.f_globals.get("__name__") == "thinc.compat":
                    raise ImportError(f"{name}: not offered to thinc (vrag runs spaCy on numpy)")
                frame = frame.f_back
        return None


@contextmanager
def thinc_without_torch() -> Iterator[None]:
    """While thinc is first imported inside this block, it sees no torch (``thinc.compat.has_torch`` is
    False: spaCy's CNN pipelines such as en_core_web_sm are unaffected). Nothing changes when torch or
    thinc is already imported."""
    if "torch" in sys.modules or "thinc" in sys.modules:
        yield
        return
    finder = _NoTorchForThinc()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def defer_lance_rest_client() -> None:
    """Put a stand-in for LanceDB's namespace REST client package into ``sys.modules`` (before ``import
    lancedb``): its submodules import normally; any other name runs the real package body first, once.
    Nothing happens when it is already imported or not installed."""
    with _LOCK:
        if _REST_CLIENT in sys.modules:
            return
        spec = importlib.util.find_spec(_REST_CLIENT)
        if spec is None or spec.loader is None or not spec.submodule_search_locations:
            return
        module = importlib.util.module_from_spec(spec)
        loaded: list[bool] = []

        def __getattr__(name: str) -> Any:  # noqa: N807 (the module hook)
            sub = f"{_REST_CLIENT}.{name}"
            if not name.startswith("__") and importlib.util.find_spec(sub) is not None:
                return importlib.import_module(sub)
            with _LOCK:
                if not loaded:
                    loaded.append(True)
                    spec.loader.exec_module(module)
            if name in module.__dict__:
                return module.__dict__[name]
            raise AttributeError(f"module {_REST_CLIENT!r} has no attribute {name!r}")

        module.__getattr__ = __getattr__  # type: ignore[attr-defined]
        sys.modules[_REST_CLIENT] = module
