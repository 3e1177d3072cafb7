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


@pytest.mark.parametrize("kind, builtins", [
    ("stage", ["shot", "asr", "ocr", "frame", "caption", "audio_event", "graph", "units", "profile", "speakers"]),
    ("generator", ["extractive", "llm"]),
    ("router", ["learned", "llm"]),
    ("graph_extractor", ["spacy", "llm"]),
    ("engine", ["local", "ray"]),
])
def test_every_pluggable_kind_lists_its_builtins_and_names_the_valid_ones(kind, builtins):
    assert names(kind)[: len(builtins)] == builtins
    with pytest.raises(ConfigError, match=rf"unknown {kind} backend 'nope'; valid: {', '.join(sorted(builtins))}"):
        resolve(kind, "nope")


def test_builtin_parts_resolve_by_name_and_by_module_path():
    from vrag.indexers.scenes import ShotStage
    from vrag.pipeline import LocalEngine
    from vrag.retrievers.generate import ExtractiveGenerator

    assert resolve("stage", "shot") is ShotStage
    assert resolve("generator", "extractive") is ExtractiveGenerator
    assert resolve("engine", "vrag.pipeline:LocalEngine") is LocalEngine


@pytest.mark.parametrize("kind, path, message", [
    ("stage", "vrag.retrievers.generate:ExtractiveGenerator",
     r"stage 'vrag.retrievers.generate:ExtractiveGenerator': vrag.retrievers.generate.ExtractiveGenerator is not a subclass of Stage"),
    ("engine", "vrag.indexers.scenes:ShotStage", r"engine .*ShotStage is not a subclass of Engine"),
    ("generator", "vrag.pipeline:LocalEngine", r"generator .*LocalEngine lacks answer\(\), from_config\(\)"),
    ("router", "vrag.retrievers.generate:ExtractiveGenerator", r"router .*ExtractiveGenerator lacks classify\(\)"),
    ("graph_extractor", "vrag.retrievers.generate:NOT_FOUND", r"graph_extractor .*is not a class"),
])
def test_a_part_of_the_wrong_kind_is_refused_by_name(kind, path, message):
    with pytest.raises(ConfigError, match=message):
        resolve(kind, path)


def test_registering_checks_the_type():
    from vrag.registry import register

    with pytest.raises(ConfigError, match=r"stage 'mine': .*NotAStage is not a subclass of Stage"):
        @register("stage", "mine")
        class NotAStage:
            name = "mine"
    assert "mine" not in names("stage")


def test_a_registered_stage_is_a_choice_of_the_stages_setting(monkeypatch):
    from vrag import registry
    from vrag.indexers import Stage
    from vrag.schema import MODALITIES

    class Mine(Stage):
        name, writes = "mine", ("mine_records",)

    monkeypatch.setitem(registry._REGISTRY, "stage", dict(registry.registered("stage")))
    registry.register("stage", "mine")(Mine)
    assert Config.load(env={}, stages="asr,mine").stages == ("asr", "mine")
    assert "mine" in Config.load(env={}).stages  # installed stages run by default
    assert "mine_records" in MODALITIES and list(MODALITIES)[-1] == "mine_records"
    with pytest.raises(ConfigError, match=r"unknown value 'other'; valid: shot, asr, .*, graph, speakers, mine"):
        Config.load(env={}, stages="other")
