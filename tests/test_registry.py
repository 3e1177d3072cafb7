import sys

import pytest

from vrag.config import Config
from vrag.errors import ConfigError, MissingDependencyError
from vrag.registry import names, require, resolve


def test_builtin_backends_are_registered():
    assert "minilm" in names("text_embed")
    assert "faster-whisper" in names("asr")
    assert "rapidocr" in names("ocr")


def test_unknown_backend_lists_valid_names():
    with pytest.raises(ConfigError, match=r"unknown asr backend 'whisperx'; valid: faster-whisper"):
        resolve("asr", "whisperx")


def test_dotted_path_resolves_and_bad_path_errors():
    assert resolve("ocr", "vrag.backends.ocr:RapidOCRBackend").__name__ == "RapidOCRBackend"
    with pytest.raises(ConfigError, match="cannot be imported"):
        resolve("ocr", "no_such_module:Thing")


@pytest.mark.parametrize(
    "module, extra",
    [("faster_whisper", "asr"), ("rapidocr_onnxruntime", "ocr"), ("sentence_transformers", "embed")],
)
def test_missing_optional_module_names_the_pip_extra(monkeypatch, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(MissingDependencyError, match=rf"pip install 'vrag\[{extra}\]'"):
        require(module, "Feature", extra)


def test_missing_asr_package_surfaces_through_the_backend(monkeypatch):
    from vrag.backends.asr import FasterWhisperASR

    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    with pytest.raises(MissingDependencyError, match=r"vrag\[asr\]"):
        FasterWhisperASR(Config.load(env={})).load()


def test_import_vrag_loads_no_models():
    import subprocess

    code = (
        "import sys, vrag, vrag.cli, vrag.pipeline, vrag.indexers, vrag.retrievers;"
        "heavy = [m for m in ('torch', 'faster_whisper', 'rapidocr_onnxruntime', 'sentence_transformers', 'lancedb')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
