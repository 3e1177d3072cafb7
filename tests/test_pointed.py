"""A question that names the kind of recording it is about ("in the screencast", "the inaugural
excerpt") is answered from the videos of that kind (issue 16). Real profiles from the real embedder
and, last, the real recordings of ../shared/eval."""

from __future__ import annotations

import os

import pytest

from vrag.retrievers.parts import question_parts
from vrag.retrievers.pointed import pointed_kinds, pointed_videos
from vrag.retrievers.query_terms import matched
from vrag.schema import Segment


@pytest.mark.parametrize("question,kinds", [
    ("After the last change in the screencast, what does the single box in the arrangement area say?", ["screencast"]),
    ("How does the speaker address the audience in the inaugural excerpt?", ["speech"]),
    ("What is the title of the cartoon shown after the credits?", ["film"]),
    ("Which sports teams does Paul Allen own in the Paul Allen song?", ["song"]),
    ("Which station's weather graphic is on screen during the flurries forecast?", ["weather forecast"]),
    ("What product is the commercial selling?", ["advertisement"]),
    ("What is the youth to his sweet self, according to the poem?", ["poetry reading"]),
    # no kind of recording named: a verb, a word with another meaning, a song that is talked about
    ("What does the forecaster say when she talks about the weekend?", []),
    ("What web address is shown at the end of the clip?", []),
    ("Did the host mention a new song?", []),
    # several recordings, only one of them named by its kind: no narrowing
    ("What do the Kennedy speech and the NIH talk each urge us to do?", []),
])
def test_the_kind_of_recording_a_question_names(question, kinds):
    assert pointed_kinds(question) == kinds


def _profile(video_id: str, genres: list[tuple[str, float]]) -> Segment:
    return Segment(video_id, "profile", 0.0, 30.0, "profile", "profile-3", meta={"genres": [list(g) for g in genres]})


def test_the_videos_of_the_named_kind_are_pointed_at():
    profiles = [_profile("gnome", [("screencast", 0.45), ("home video", 0.13)]),
                _profile("talk", [("talk show", 0.38), ("sports", 0.26)]),
                _profile("v17", [("weather forecast", 0.32), ("screencast", 0.29)]),  # within the margin
                _profile("v18", [("weather forecast", 0.47), ("screencast", 0.14)])]
    pointed = pointed_videos("What time does the clock show in the screencast?", profiles)
    assert pointed is not None and pointed.video_ids == ("gnome", "v17") and pointed.kinds == ("screencast",)
    assert "screencast" in pointed.reason()
    assert pointed_videos("What does the host say?", profiles) is None  # no kind named
    assert pointed_videos("What is the first line of the sonnet?", profiles) is None  # no video of that kind
    every = [_profile(v, [("screencast", 0.4)]) for v in "abc"]
    assert pointed_videos("What does the screencast show?", every) is None  # the kind says nothing: all are


def test_a_hyphenated_word_holds_its_parts():
    assert matched(["self", "sweet"], "to thy sweet self-too") == ["self", "sweet"]
    assert matched(["substantial"], "self-substantial fuel") == ["substantial"]
    assert matched(["contact"], "body-on-body contacts") == ["contact"]


def test_real_recordings_a_question_naming_the_recording_searches_it(eval_kb):
    """The JFK excerpt shares no word with "how does the speaker address the audience"; the question
    names it ("the inaugural excerpt"), so its speech leads, and the route says why."""
    result = eval_kb.search("How does the speaker address the audience in the inaugural excerpt?")
    assert os.path.basename(result.hits[0].path) == "jfk_inaugural.flac"
    assert {os.path.basename(h.path) for h in result.hits} == {"jfk_inaugural.flac"}
    assert "names the speech" in result.routing["reason"] and len(result.routing["videos"]) == 1
    cartoon = eval_kb.search("What is shown behind the title of the animated film?")
    assert {os.path.basename(h.path) for h in cartoon.hits} == {"big_buck_bunny_0_30.webm"}
    plain = eval_kb.search("What are the key ingredients of the sunscreen?")  # names no kind: the whole collection
    assert "videos" not in plain.routing


@pytest.mark.parametrize("question,parts", [
    ("What is the SPF of the advertised moisturizer, and how many pairs of twins were in the study on the NIH slide?",
     ["What is the SPF of the advertised moisturizer?", "How many pairs of twins were in the study on the NIH slide?"]),
    ("Who is the president of Bell Media and what award will he receive?",
     ["Who is the president of Bell Media?", "What award will he receive?"]),
    ("Is it raining in Toronto; what is the temperature there?", ["Is it raining in Toronto?", "What is the temperature there?"]),
    # one question: a conjunction inside it, a part too short to stand alone, no question first
    ("Which product feature is both said in the voice-over and listed on the benefits card?", None),
    ("What do the Kennedy speech and the NIH talk each urge us to do?", None),
    ("What did Glenn say, and why?", None),
    ("Where and when did it happen?", None),
    ("The speaker says it was not Alzheimer's, and what odds ratio does the slide give?", None),
])
def test_a_question_in_several_parts(question, parts):
    assert question_parts(question) == (parts or [question])


def test_a_long_list_of_questions_is_asked_as_one():
    """Each part is one more search: a query of many "..., and what ..." parts is not split."""
    many = ", and ".join(["what is the temperature in Toronto today"] * 50) + "?"
    assert question_parts(many) == [many]
    four = ", and ".join(["what is the temperature in Toronto today"] * 4) + "?"
    assert len(question_parts(four)) == 4


def test_real_recordings_a_question_about_two_videos_in_two_parts(eval_kb):
    data = eval_kb.ask("What is the SPF of the advertised moisturizer, and how many pairs of twins were in "
                       "the study on the NIH slide?").to_json()
    assert "30" in data["answer"] and "100" in data["answer"], data["answer"]
    assert {os.path.basename(c["path"]) for c in data["citations"]} == {"sunscreen_ad.mp4", "nih_twin_study_talk.mp4"}
