"""The voice encoder on ONNX Runtime (issue 21): torch's vectors and speaker labels, and no torch in a
fresh index once the export exists. Speeds are measured by ``benchmarks.bench_speed``, never here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import eval_file
from support.synth import Turn, dialogue_turns, make_dialogue
from vrag.config import Config

#: real speech of the shared eval set: a lecture hall talk, a two-person talk show, sports commentary
_CLIPS = ["media/nih_twin_study_talk.mp4", "batch2/cais_v11_talkshow.mp4", "batch2/cais_v1_sports.mp4"]


def _speech(rel: str, seconds: float = 90.0) -> np.ndarray:
    from vrag.media.audio import SAMPLE_RATE, AudioChunks

    path = eval_file(rel)
    ((_, samples), *_rest) = list(AudioChunks(str(path), 600.0))
    return samples[: int(seconds * SAMPLE_RATE)]


def _encoders(cache: Path):
    from vrag.backends.voice import ResemblyzerEncoder

    onnx = ResemblyzerEncoder(Config.load(env={}, asr_model_cache=str(cache)))
    torch = ResemblyzerEncoder(Config.load(env={}, voice_runtime="torch"))
    return onnx, torch


@pytest.mark.parametrize("rel", _CLIPS)
def test_onnx_vectors_and_speaker_labels_are_torchs_on_real_speech(tmp_path, rel):
    from vrag.speakers import diarize, windows_in

    samples = _speech(rel)
    windows = windows_in([(0.0, len(samples) / 16000.0)])
    onnx, torch = _encoders(tmp_path / "models")
    vo, vt = onnx.embed(samples, windows), torch.embed(samples, windows)
    assert type(onnx.load()).__name__ == "InferenceSession" and list((tmp_path / "models").glob("resemblyzer-*/model.onnx"))
    assert type(torch.load()).__name__ == "VoiceEncoder"
    assert len(vo) == len(windows) >= 20 and (vo * vt).sum(1).min() >= 0.9999
    do, dt = diarize(vo, windows), diarize(vt, windows)
    assert do.labels == dt.labels and len(do.speakers) == len(dt.speakers)


def test_a_cache_that_cannot_hold_the_export_falls_back_to_torch(tmp_path):
    from vrag.backends.voice import ResemblyzerEncoder

    blocked = tmp_path / "a-file"  # a model cache that cannot be a folder
    blocked.write_text("")
    encoder = ResemblyzerEncoder(Config.load(env={}, asr_model_cache=str(blocked)))
    assert type(encoder.load()).__name__ == "VoiceEncoder"
    samples = np.sin(np.arange(16000 * 3) * 2 * np.pi * 220 / 16000).astype(np.float32) * 0.3
    out = encoder.embed(samples, [(0.0, 1.6), (1.2, 2.8)])
    assert out.shape == (2, 256) and np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_clustering_without_scikit_learn_gives_its_labels():
    """The speakers' clusters come from scipy's tree cut as scikit-learn cuts it (its import cost
    1.5 s of a fresh index): the same labels, numbered the same, on many shapes of data."""
    from sklearn.cluster import AgglomerativeClustering

    from vrag.speakers import _cluster

    rng = np.random.default_rng(3)
    for _ in range(60):
        n, k = int(rng.integers(2, 300)), int(rng.integers(1, 6))
        centres = rng.standard_normal((k, 24))
        x = (centres[rng.integers(0, k, n)] + rng.standard_normal((n, 24)) * rng.uniform(0.1, 1.5)).astype(np.float32)
        threshold = float(rng.uniform(0.05, 0.9))
        theirs = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                         distance_threshold=threshold).fit_predict(x)
        assert list(_cluster(x, threshold)) == list(theirs)


_CHILD = """
import json, sys
from vrag import KnowledgeBase
kb = KnowledgeBase(sys.argv[1], stages=("asr", "speakers"))
assert kb.index([sys.argv[2]]).ok
labels = [(round(s.start, 2), s.meta["speaker_label"]) for s in sorted(kb.segments(modality="asr"), key=lambda s: s.start)]
print(json.dumps({"torch": "torch" in sys.modules, "sklearn": "sklearn" in sys.modules, "labels": labels}))
"""


def test_a_fresh_index_labels_speakers_without_importing_torch(tmp_path):
    """Once the export is in the model cache, a fresh process labels a two-voice dialogue as torch
    labels it, and neither torch nor scikit-learn is imported."""
    from vrag import KnowledgeBase
    from vrag.backends.voice import ResemblyzerEncoder

    turns = [Turn("A", "Good evening, this is the harbour report."), *dialogue_turns(["A", "B"], 6, seed=7)[1:]]
    path = tmp_path / "dialogue.mp4"
    make_dialogue(turns, path)
    ResemblyzerEncoder(Config.load(env={})).load()  # the export, in the default model cache
    kb = KnowledgeBase(tmp_path / "kb-torch", stages=("asr", "speakers"), voice_runtime="torch")
    assert kb.index([path]).ok
    expected = [[round(s.start, 2), s.meta["speaker_label"]]
                for s in sorted(kb.segments(modality="asr"), key=lambda s: s.start)]
    assert {label for _t, label in expected} == {"S1", "S2"}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "kb"), str(path)], capture_output=True,
                         text=True, check=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    child = json.loads(out.stdout.strip().splitlines()[-1])
    assert child["labels"] == expected
    assert not child["torch"] and not child["sklearn"], child


_NO_TORCH = """
import json, sys
sys.modules["torch"] = None  # as if torch were not installed
import numpy as np
from vrag.backends.voice import ResemblyzerEncoder
from vrag.config import Config
from vrag.errors import MissingDependencyError

encoder = ResemblyzerEncoder(Config.load(env={}, asr_model_cache=sys.argv[1]))
samples = (np.sin(np.arange(16000 * 2) * 2 * np.pi * 180 / 16000) * 0.3).astype(np.float32)
try:
    print(json.dumps({"shape": list(encoder.embed(samples, [(0.0, 1.6)]).shape)}))
except MissingDependencyError as exc:
    print(json.dumps({"error": str(exc)}))
"""


def test_without_torch_the_export_is_enough_and_its_absence_is_one_clear_line(tmp_path):
    from vrag.backends.voice import ResemblyzerEncoder

    def child(cache: Path) -> dict:
        out = subprocess.run([sys.executable, "-c", _NO_TORCH, str(cache)], capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    missing = child(tmp_path / "empty")
    assert "torch" in missing["error"] and "pip install 'vrag[audio]'" in missing["error"], missing
    assert "\n" not in missing["error"]
    ResemblyzerEncoder(Config.load(env={}, asr_model_cache=str(tmp_path / "models"))).load()  # the export
    assert child(tmp_path / "models") == {"shape": [1, 256]}
