"""Thread behaviour of the ONNX Runtime sessions and of OpenMP: worker threads sleep between runs
instead of spinning.

ONNX Runtime's intra-op workers spin for a while after each run, waiting for more work. Indexing
alternates libraries frame by frame (OCR on ONNX Runtime, keyframes on torch, shot detection in
numpy, decoding in FFmpeg), so on a small machine the spinning workers take the cores the next
library needs: on 2 cores, eight OCR reads each followed by a keyframe batch used ~25% less CPU
time with spinning off (bench-speed).

CTranslate2 (Whisper) runs its threads on GNU OpenMP, whose workers also spin after each parallel
region unless ``OMP_WAIT_POLICY=PASSIVE``. With the speech lane beside the picture lane
(``index_parallel``) on a busy 2-core machine, the spinning doubled the CPU time of a lecture's
index (bench-speed); :func:`openmp_passive` sets the policy, unless the user set one, before the
library that reads it is loaded.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ["no_spinning", "rapidocr_without_spinning", "openmp_passive"]

_PATCH = threading.Lock()


def openmp_passive() -> None:
    """OpenMP workers sleep between parallel regions (``OMP_WAIT_POLICY=PASSIVE``) unless the environment
    says otherwise; read once, when an OpenMP runtime is loaded: call it before importing the library."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def no_spinning(options: Any) -> Any:
    """``options`` (an ``onnxruntime.SessionOptions``) with spinning worker threads turned off."""
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


@contextmanager
def rapidocr_without_spinning() -> Iterator[None]:
    """RapidOCR makes its sessions' options itself: the sessions it creates inside this block spin not."""
    try:
        from rapidocr_onnxruntime.utils import infer_engine
    except ImportError:  # another layout: its sessions keep their defaults
        yield
        return
    session = getattr(infer_engine, "OrtInferSession", None)
    make = getattr(session, "_init_sess_opts", None)
    if make is None:
        yield
        return
    with _PATCH:
        session._init_sess_opts = staticmethod(lambda config: no_spinning(make(config)))
        try:
            yield
        finally:
            session._init_sess_opts = staticmethod(make)
