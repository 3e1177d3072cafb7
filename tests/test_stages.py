"""Planning from the stages' declarations alone: order, fingerprints, what to redo, whose problem is whose."""

from __future__ import annotations

import pytest

from vrag.config import Config
from vrag.errors import ConfigError
from vrag.indexers import Stage
from vrag.stages import declared, helpers, ordered, owners, plan, wanted


class Src(Stage):
    name = "src"
    settings = ("ocr_interval",)
    writes = ("src",)


class Pics(Stage):
    name = "pics"
    writes = ("pics",)
    uses = ("src",)

    def on_frame(self, frame, ctx):
        pass


class Summary(Stage):
    name = "summary"
    reads = ("src", "pics")
    writes = ("summary",)


class Auto(Stage):
    name = "auto"
    reads = ("summary",)
    implicit = True


STAGES = {"auto": Auto, "summary": Summary, "pics": Pics, "src": Src}


def test_order_puts_every_stage_after_what_it_reads_or_uses():
    assert list(ordered(STAGES)) == ["src", "pics", "summary", "auto"]


def test_a_circle_of_reads_is_a_config_error():
    class A(Stage):
        name, reads = "a", ("b",)

    class B(Stage):
        name, reads = "b", ("a",)

    with pytest.raises(ConfigError, match="circle"):
        ordered({"a": A, "b": B})


def test_plan_redoes_changed_stages_and_everything_derived_from_them():
    stages = ordered(STAGES)
    want = {"src": "1", "pics": "2", "summary": "3", "auto": "4"}
    assert plan(stages, want, want) == []
    assert plan(stages, want, {}) == ["src", "pics", "summary", "auto"]
    assert plan(stages, want, dict(want, src="old")) == ["src", "summary", "auto"]
    assert plan(stages, want, dict(want, auto="old")) == ["auto"]
    # a derived stage that is not wanted is not planned, even when its inputs change
    assert plan(stages, {"src": "1", "pics": "2"}, {}) == ["src", "pics"]


def test_helpers_run_alongside_without_being_redone():
    stages = ordered(STAGES)
    assert helpers(stages, ["pics"], ("src", "pics")) == ["src"]
    assert helpers(stages, ["pics"], ("pics",)) == []  # not configured: not run
    assert helpers(stages, ["src", "pics"], ("src", "pics")) == []


def test_fingerprints_follow_declared_settings_and_version():
    cfg = Config.load(env={}, stages=("ocr",))
    ocr = declared()["ocr"]
    first = wanted(cfg, "/nowhere/x.mp4")
    assert list(first) == ["ocr", "units", "profile"]  # units and the profile: built from screen text
    assert wanted(cfg.replace(ocr_interval=3.0), "/nowhere/x.mp4")["ocr"] != first["ocr"]  # a declared setting
    assert wanted(cfg.replace(asr_model="small"), "/nowhere/x.mp4") == first  # not one of its settings

    class Newer(ocr):
        version = "99"

    newer = wanted(cfg, "/nowhere/x.mp4", dict(declared(), ocr=Newer))
    assert newer["ocr"] != first["ocr"] and newer["units"] == first["units"]


def test_conditional_settings_count_only_when_selected():
    cfg = Config.load(env={}, stages=("graph",))
    assert wanted(cfg.replace(llm_model="a"), "x") == wanted(cfg.replace(llm_model="b"), "x")
    llm = cfg.replace(graph_extractor="llm")
    assert wanted(llm.replace(llm_model="a"), "x") != wanted(llm.replace(llm_model="b"), "x")


def test_fingerprints_of_the_built_in_stages_did_not_change():
    """Knowledge bases indexed before stages were classes are not re-indexed. (Changed on purpose in
    issue 16: asr, because sung vocals are transcribed (asr_singing, audio_events) and the default model is
    Whisper base; graph, because extraction is cleaner (graph-5); so speech and entities are redone (graph-7);
    issue 17: asr-2, every speech record carries its language and other languages get English renderings
    (asr_languages, asr_translate); OCR records carry a language (ocr_rec_model, ocr_rec_keys).
    Issue 21: ocr (ocr-3, ocr_incremental: reads only changed regions; a line back after a gap is a new
    appearance), so screen text is redone. Issue 19: frame (keyframes keep their ImageNet posterior and
    pixel cues; calibrated tags) and caption (visual-concept records), so keyframes and captions are redone;
    then frame-3 and caption-3/concepts-2: "indoors"/"outdoors" tags and words, the light in captions.
    Issue 16 (session 4): profile-3, two more kinds of recording (poetry reading, speech), so profiles are redone;
    (session 5): graph-8, sung lyrics are not read for entities, so entities are redone; ocr-4, a word run into
    its figure is set apart ("LIVE12:17" -> "LIVE 12:17"), so screen text is redone; (session 6): ocr-5, two
    common words run together are split ("OILYSKIN" -> "OILY SKIN"), so screen text is redone; graph-9, an
    upper-case adjective ("OILY") is a word, not an acronym, so entities are redone.)"""
    assert wanted(Config.load(env={}), "/nowhere/x.mp4") == {
        "shot": "7a63b41b617d3dbb", "asr": "2193615189d067fd", "ocr": "b0a86dcd66ceed3b",
        "frame": "a435152e104421ad", "caption": "ed3e6a15dda4685d", "audio_event": "35ae371d98be6eb8",
        "graph": "d7f3fce17181dbb4", "units": "9d505fe402284784", "profile": "51e149924dec0a5c",
        "speakers": "58a13846ae322a8e",  # issue 18: the new speakers stage (voice_encoder, speaker_threshold)
    }


def test_implicit_stages_run_with_their_inputs_and_are_not_choices():
    from vrag.config import STAGES

    assert "units" not in STAGES and "units" in declared()
    assert "units" in wanted(Config.load(env={}, stages=("asr",)), "x")
    assert "units" not in wanted(Config.load(env={}, stages=("audio_event",)), "x")


def test_stored_problems_belong_to_the_stage_that_reported_them():
    stages = declared()
    assert owners("ocr: media ends early", stages) == ("ocr",)
    assert owners("shots: cannot decode", stages) == ("shot",)
    assert set(owners("frames: media ends early", stages)) == {"shot", "ocr", "frame"}
