import pytest

from vrag.config import SETTINGS, Config
from vrag.errors import ConfigError


def test_defaults_env_file_and_overrides_layer_in_order(tmp_path):
    cfg_file = tmp_path / "vrag.toml"
    cfg_file.write_text('ocr_interval = 3.5\n[asr]\nmodel = "/models/whisper"\n')
    cfg = Config.load(cfg_file, env={"VRAG_OCR_INTERVAL": "4", "VRAG_THREADS": "1"}, threads=3)
    assert cfg.asr_model == "/models/whisper" and cfg.source("asr_model") == str(cfg_file)
    assert cfg.ocr_interval == 4.0 and cfg.source("ocr_interval") == "VRAG_OCR_INTERVAL"
    assert cfg.threads == 3 and cfg.source("threads") == "argument"
    assert cfg.window_seconds == 30.0 and cfg.source("window_seconds") == "default"


def test_vrag_toml_in_cwd_is_picked_up(tmp_path):
    (tmp_path / "vrag.toml").write_text('db = "elsewhere"\n')
    assert Config.load(env={}).db == "elsewhere"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ocr_interval": "soon"}, "ocr_interval='soon' is not a valid float"),
        ({"threads": -2}, "non-negative"),
        ({"stages": "asr,video"}, "unknown value 'video'; valid: shot, asr, ocr, frame, caption, audio_event, graph"),
        ({"device": "tpu"}, "valid: cpu, cuda, auto"),
        ({"no_such": 1}, "unknown setting 'no_such'"),
    ],
)
def test_bad_values_name_the_setting_and_valid_choices(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Config.load(env={}, **kwargs)


def test_env_var_bool_and_list_parsing():
    cfg = Config.load(env={"VRAG_ASR_VAD": "off", "VRAG_STAGES": "asr, ocr"})
    assert cfg.asr_vad is False and cfg.stages == ("asr", "ocr")
    assert Config.load(env={}, stages="captions,frames").stages == ("caption", "frame")  # --only captions


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        Config.load(tmp_path / "nope.toml", env={})


def test_every_setting_has_help_and_env_name():
    for s in SETTINGS:
        assert s.help and s.env == "VRAG_" + s.name.upper()


@pytest.mark.parametrize("setting", ["engine", "router", "graph_extractor", "generator"])
def test_pluggable_settings_take_a_module_class_and_refuse_unknown_names(setting):
    assert Config.load(None, **{setting: "mypkg.parts:Mine"})[setting] == "mypkg.parts:Mine"
    with pytest.raises(ConfigError, match=rf"{setting}='mine': unknown value 'mine'; valid: .* \(or 'module:Class'\)"):
        Config.load(None, **{setting: "mine"})
    with pytest.raises(ConfigError, match=r"valid: cpu, cuda, auto$"):  # not a pluggable part: no module:Class
        Config.load(None, device="my:Device")
