"""Import-time costs the query path need not pay.

spaCy's thinc imports torch at import time only to offer it as a backend (``thinc.compat``); the packaged
en_core_web_sm runs on numpy and never uses it, yet that import is most of a cold ``vrag ask``'s wait
(seconds on a small machine). :func:`thinc_without_torch` hides torch from that one import.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ["thinc_without_torch"]


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
