"""Library-level questions: the profile stage, the library route, every matching video with its evidence."""

from __future__ import annotations

import json
import os

import pytest

from conftest import EVAL_DIR, eval_file

LIBRARY_QUESTIONS = [
    "Which of the clips are weather forecasts, and which places do they mention?",
    "Which clips have music in them?",
    "Summarize the two talk-show clips.",
    "Which videos mention Toronto?",
    "What videos are about hockey?",
    "How many videos are in the collection?",
    "How many clips have singing?",
    "List the videos about weather.",
    "List all videos.",
    "Are there any videos about dementia?",
    "Is there a clip about sunscreen?",
    "Do any of the clips have music?",
    "Which recordings are silent?",
    "Which files have no speech?",
    "What are the videos about?",
    "What is in my library?",
    "Show me all the sports clips.",
    "Which ones have singing in them?",
    "Compare the two weather clips.",
    "Summarize the weather videos.",
    "Which songs are in French?",
    "Give me an overview of all the clips.",
    "Which talk-show clips mention Bell Media?",
    "Find the clips with on-screen text.",
    "Are there any lectures?",
    "Which clips are in English?",
    "What clips talk about CGI?",
    "Name the videos that feature a golf cart.",
    "Which video has no audio track?",  # one video, chosen from the collection
    "Which video is a screencast of software settings?",
    "Which clip mentions Toronto?",
]
NOT_LIBRARY_QUESTIONS = [
    "What did Glenn say in the sports clip?",
    "Summarize the sunscreen ad.",
    "What is the video about?",
    "Which player scored twenty goals?",
    "What happens in the videos after the intro?",
    "Which slides are shown in the lecture?",
    "Which countries are mentioned in the clip?",
    "Who is Randy Lennox?",
    "What SPF is the sunscreen?",
    "When does the forecaster mention Toronto?",
    "What temperature is it in Toronto?",
    "Which award will Randy Lennox receive?",
    "Summarize the talk.",
    "What is said about CGI in the talk show?",
    "How many twin pairs were studied?",
    "What music plays during the stage performance?",
    "Which team does Glenn play for?",
    "Where is the flurries forecast?",
    "Which song is the singer singing?",
    "Which film is the host talking about?",
    "Which video game does he mention?",
    "What does the screen show at the start?",
    "Give me an overview of the lecture.",
    "How many goals has he scored?",
    "What song is the singer performing?",
    "Which ingredients are listed in the ad?",
    "What is the relationship between Duke and the twin study?",
    "Is there contact to the head in the hockey clip?",
    "Which display resolution is selected?",
    "Which lectures mention both dropout and batch norm?",  # relations between videos/entities: graph
    "Which clips show the same blue sedan?",
    "Who are George's friends and which episodes do they meet in?",
]


@pytest.mark.parametrize("question", LIBRARY_QUESTIONS)
def test_questions_about_the_collection_are_library(question):
    from vrag.retrievers.router import library_reason

    assert library_reason(question), question


@pytest.mark.parametrize("question", NOT_LIBRARY_QUESTIONS)
def test_questions_inside_one_video_are_not_library(question):
    from vrag.retrievers.router import library_reason

    assert library_reason(question) == "", question


def test_the_learned_router_reports_library_in_its_route():
    from vrag.backends import get_backend
    from vrag.config import Config
    from vrag.retrievers.router import Router

    minilm = get_backend("text_embed", Config.load(), "minilm")
    router = Router(minilm.embed, model_id=minilm.model_id)
    library, local = router.classify_many(["Which clips have music in them?", "What did Glenn say in the sports clip?"])
    assert library.library and "library" in library.reason and library.to_dict()["library"] is True
    assert not local.library and local.to_dict()["library"] is False


def test_a_library_question_is_read_into_its_conditions():
    from vrag.retrievers.library import parse_question

    q = parse_question("Which of the clips are weather forecasts, and which places do they mention?")
    assert (q.genres, q.facet, q.audio, q.words) == (["weather forecast"], "GPE", "", [])
    q = parse_question("Summarize the two talk-show clips.")
    assert (q.genres, q.count, q.summary) == (["talk show"], 2, True)
    q = parse_question("Which files have no speech?")
    assert (q.audio, q.negated, q.genres) == ("speech", True, [])  # the sound, not the kind of recording
    assert parse_question("Which recordings are speeches?").genres == ["speech"]
    assert parse_question("Which recordings are poems?").genres == ["poetry reading"]
    q = parse_question("Which videos show a golf cart?")  # "golf" describes the cart: a topic, not the genre
    assert q.genres == [] and q.words == ["golf", "cart"]
    assert parse_question("Which clips have music in them?").audio == "music"
    q = parse_question("Which video has no audio track?")  # "track" says nothing about which video
    assert (q.audio, q.negated, q.words) == ("silent", False, [])
    # the sound asked for and the one set aside; files without a picture
    q = parse_question("Which audio-only recordings are spoken word rather than music?")
    assert (q.audio, q.negated, q.audio_not, q.picture, q.words) == ("speech", False, ["music"], False, [])
    q = parse_question("Which recordings have singing but no music?")
    assert (q.audio, q.audio_not) == ("singing", ["music"])


# -- a small real library: three spoken clips on two topics and one music-only clip ---------------------

VOLCANO_A = ("Volcanoes form where magma rises through the crust. Lava flows from the volcano and "
             "cools into basalt rock. The eruption covered the island in ash.")
VOLCANO_B = ("This volcano erupted last spring. Hot lava and ash poured down the mountain, and the "
             "volcano observatory measured the magma under the crater.")
BREAD = ("To bake bread, mix flour, water, yeast and salt into a dough. Knead the dough, let it rise, "
         "and bake the loaf in a hot oven until the crust is brown.")


@pytest.fixture(scope="module")
def library_kb(tmp_path_factory):
    from support.synth import Slide, make_lecture, make_tone
    from vrag import KnowledgeBase

    folder = tmp_path_factory.mktemp("library")
    for name, text in {"volcano_island.mp3": VOLCANO_A, "volcano_spring.mp3": VOLCANO_B, "baking.mp3": BREAD}.items():
        make_lecture([Slide(title=name, narration=text)], folder / name, audio_only=True)
    make_tone(folder / "tune.ogg", 15.0, music=True)
    kb = KnowledgeBase(folder / "kb", stages=("asr", "audio_event"))
    report = kb.index([folder])
    assert report.ok, [(r.path, r.reason) for r in report.results]
    kb.folder = folder
    return kb


def _names(result) -> list[str]:
    return sorted({os.path.basename(c["path"]) for c in result.citations})


def test_every_video_gets_a_profile_record(library_kb):
    profiles = {os.path.basename(s.uri): s for s in library_kb.segments(modality="profile")}
    assert sorted(profiles) == ["baking.mp3", "tune.ogg", "volcano_island.mp3", "volcano_spring.mp3"]
    tune, volcano = profiles["tune.ogg"], profiles["volcano_island.mp3"]
    assert tune.meta["audio"]["music"] > 12 and not tune.meta["has_speech"] and tune.start == 0.0
    assert volcano.meta["has_speech"] and volcano.meta["language"] == "en" and volcano.meta["audio"]["speech"] > 3
    assert any("volcano" in k.lower() or "lava" in k.lower() for k in volcano.meta["keyphrases"])
    assert volcano.vector and "Audio: speech" in volcano.text and "Duration" in volcano.text
    assert {name for name, _score in volcano.meta["genres"]} >= {"lecture", "song", "weather forecast"}


@pytest.mark.parametrize("text,genre", [
    ("From fairest creatures we desire increase, that thereby beauty's rose might never die. Thou that art now the "
     "world's fresh ornament, and only herald to the gaudy spring, within thine own bud buriest thy content.",
     "poetry reading"),
    ("And so, my fellow Americans: ask not what your country can do for you, ask what you can do for your country.",
     "speech"),
    ("Some flurries are edging into northern York region over the next hour, a few scattered flurries before this "
     "evening is out, and temperatures near nine degrees.", "weather forecast"),
])
def test_a_profile_names_the_kind_of_recording(text, genre):
    """A poem read aloud and an address to the nation are kinds of recording of their own (neither a
    song nor a lecture); the real embedder scores them."""
    from vrag.backends.text_embed import text_embedder
    from vrag.config import Config
    from vrag.indexers.profile import build_profile
    from vrag.schema import Segment

    speech = [Segment("v", "asr", 0.0, 20.0, text, "asr@test")]
    profile = build_profile("v", "clip.mp3", 20.0, {"asr": speech}, text_embedder(Config.load()).embed)
    assert profile.meta["genres"][0][0] == genre, profile.meta["genres"][:3]
    assert profile.text.startswith(genre.capitalize() + ".")


def test_which_clips_have_music_lists_exactly_the_music_clip(library_kb):
    result = library_kb.ask("Which clips have music in them?")
    assert result.route == "library" and result.found
    assert _names(result) == ["tune.ogg"]
    assert result.answer.short == "1 clip: tune.ogg"
    assert "tune.ogg" in result.answer.text and str(library_kb.folder) not in result.answer.text
    assert result.hits and all(h.modality == "audio_event" and h.text == "music" for h in result.hits)


def test_spoken_word_rather_than_music_lists_the_spoken_clips(library_kb):
    result = library_kb.ask("Which recordings are spoken word rather than music?")
    assert result.route == "library" and result.found
    assert _names(result) == ["baking.mp3", "volcano_island.mp3", "volcano_spring.mp3"]
    assert "no music" in result.answer.text


def test_real_recordings_audio_only_spoken_word(eval_kb):
    """Of media/ and audio/, the files without a picture whose sound is speech, not music."""
    result = eval_kb.ask("Which audio-only recordings are spoken word rather than music?")
    assert _names(result) == ["jfk_inaugural.flac", "shakespeare_sonnet_1.mp3"], result.answer.text


def test_which_videos_are_about_a_topic_lists_each_with_evidence(library_kb):
    result = library_kb.ask("Which videos are about volcanoes?")
    assert result.route == "library"
    assert _names(result) == ["volcano_island.mp3", "volcano_spring.mp3"]
    lines = result.answer.text.splitlines()
    assert lines[0].startswith("2 videos:") and len(lines) == 3
    for line in lines[1:]:
        assert line.startswith("- volcano_") and "volcano" in line.lower().split(":", 1)[1] and "[00:" in line
        assert " — " in line and "About: " in line  # what the video is about, from its profile
    for cite in result.citations:  # each citation overlaps a hit of its video
        assert any(h.video_id == cite["video_id"] and h.start < cite["end"] and h.end > cite["start"]
                   for h in result.hits)
    baking = library_kb.ask("Are there any videos about flour and yeast?")
    assert _names(baking) == ["baking.mp3"] and baking.answer.short.startswith("Yes — 1 video: baking.mp3")


def test_a_topic_said_in_other_words_is_found_by_its_passage(library_kb):
    """Fewer than half the question's words in any clip ("dough" in one, "bakers"/"prepare" nowhere) and no
    profile close enough: the clip one passage of which is about the question is the answer, alone."""
    from vrag.retrievers.library import parse_question

    q = parse_question("Which clips describe how bakers prepare dough?")
    assert "dough" in q.words and len(q.words) >= 3
    result = library_kb.ask("Which clips describe how bakers prepare dough?")
    assert result.route == "library" and _names(result) == ["baking.mp3"]
    assert "passage" in result.hits[0].why  # found by its passage, not by the word share


def test_nothing_matching_is_not_found(library_kb):
    result = library_kb.ask("Are there any videos about football?")
    assert result.route == "library" and not result.found and not result.citations
    assert result.answer.text == "Not found in the indexed videos." and result.answer.short == "No"


def test_search_json_keeps_its_shape_and_says_library(library_kb):
    result = library_kb.search("Which recordings have no speech?")
    data = result.to_json()
    assert data["route"] == "library" and data["routing"]["library"] is True
    assert {os.path.basename(h["path"]) for h in data["hits"]} == {"tune.ogg"}
    assert set(data["hits"][0]) == {"video_id", "path", "start", "end", "modality", "text", "score", "why", "signals",
                                 "language", "speaker"}  # + issues 17, 18
    json.dumps(data)


def test_mode_library_forces_it_and_other_modes_do_not(library_kb):
    forced = library_kb.search("music", mode="library")
    assert forced.route == "library" and {os.path.basename(h.path) for h in forced.hits} == {"tune.ogg"}
    assert library_kb.search("Which clips have music in them?", mode="hybrid").route == "hybrid"


def test_profiles_are_built_on_the_fly_for_a_kb_indexed_without_them(library_kb, tmp_path):
    import shutil

    from vrag import KnowledgeBase
    from vrag.filters import Filter

    copy = tmp_path / "kb"
    shutil.copytree(library_kb.store.path, copy)
    kb = KnowledgeBase(copy)
    model_id, dim = kb.store.segments.model()
    for profile in kb.store.segments.read(Filter.of(modalities="profile")):
        kb.store.segments.replace(profile.video_id, [], model_id, dim, modalities=["profile"])
    assert not kb.segments(modality="profile")
    assert _names(kb.ask("Which clips have music in them?")) == ["tune.ogg"]


def test_cli_mode_library(library_kb, capsys):
    from vrag.cli import main

    assert main(["ask", "Which clips have music in them?", "--db", str(library_kb.store.path), "--mode", "library",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["route"] == "library" and data["answer_short"] == "1 clip: tune.ogg"


# -- the shared real clips: four weather forecasts, two talk shows and an ad ------------------------------

WEATHER = ["cais_v13_weather.mp4", "cais_v17_weather.mp4", "cais_v18_weather.mp4", "cais_v20_weather.mp4"]
TALK = ["cais_v11_talkshow.mp4", "cais_v12_talkshow.mp4"]


@pytest.fixture(scope="module")
def broadcast_kb(tmp_path_factory):
    from vrag import KnowledgeBase

    files = [eval_file(f"batch2/{name}") for name in WEATHER + TALK] + [eval_file("media/sunscreen_ad.mp4")]
    kb = KnowledgeBase(tmp_path_factory.mktemp("broadcast") / "kb", stages=("asr", "ocr", "audio_event"))
    report = kb.index(files)
    assert report.ok, [(r.path, r.reason) for r in report.results]
    return kb


@pytest.mark.slow
def test_which_clips_are_weather_forecasts_cites_exactly_the_four(broadcast_kb):
    result = broadcast_kb.ask("Which of the clips are weather forecasts, and which places do they mention?")
    assert result.route == "library" and _names(result) == WEATHER
    assert result.answer.short.startswith("4 clips:") and "Toronto" in result.answer.short
    assert "/" not in result.answer.text.split("\n", 1)[0]  # file names, never paths
    summary = broadcast_kb.ask("Summarize the two talk-show clips.")
    assert _names(summary) == TALK and len(summary.answer.text.splitlines()) == 3
    assert EVAL_DIR.name not in summary.answer.text


def test_ui_lists_the_library_answers_videos_with_play_buttons(monkeypatch, library_kb):
    pytest.importorskip("streamlit", reason="the UI needs streamlit: pip install 'vrag[ui]'")
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("VRAG_DB", str(library_kb.store.path))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "ui" / "app.py"), default_timeout=120)
    at.run()
    at.text_input(key="query").input("Which videos are about volcanoes?").run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    shown = [m.value for m in at.markdown]
    assert "**Videos (2)**" in shown
    assert any("volcano_island.mp3" in m for m in shown) and any("volcano_spring.mp3" in m for m in shown)
    plays = [b for b in at.button if (b.key or "").startswith("lib-")]
    assert len(plays) >= 2 and all(b.label.startswith("▶ ") for b in plays)
    plays[0].click().run()
    assert not at.exception
    assert "Route: **library**" in "\n".join(str(i.value) for i in at.info)
