"""Integration on real material nobody on the team made (../shared/eval; skipped when absent)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import EVAL_DIR

# Cut times PySceneDetect finds at full resolution and frame rate (default settings) in the ad.
SUNSCREEN_CUTS = [3.96, 6.51, 8.13, 9.05, 9.93, 10.8, 12.6, 23.36]


@pytest.fixture
def kb(eval_kb):
    return eval_kb  # indexed once per session in conftest.py, shared with test_eval_qa.py


def _video(kb, name):
    (row,) = [v for v in kb.status()["videos"] if Path(v["path"]).name == name]
    return row


def _text(kb, name, modality):
    return " ".join(s.text for s in kb.segments(_video(kb, name)["video_id"], modality)).lower()


def test_everything_indexes_and_annotation_files_are_not_media(kb):
    names = sorted(Path(v["path"]).name for v in kb.status()["videos"])
    assert names == sorted(
        ["big_buck_bunny_0_30.webm", "gnome_display_settings.webm", "nextqa_4405327307_stage.mp4",
         "nih_twin_study_talk.mp4", "sunscreen_ad.mp4", "jfk_inaugural.flac", "shakespeare_sonnet_1.mp3"]
    )


def test_nih_talk_speech_and_slide(kb):
    speech = _text(kb, "nih_twin_study_talk.mp4", "asr")
    assert "twin" in speech and "dementia" in speech and "duke" in speech
    slide = _text(kb, "nih_twin_study_talk.mp4", "ocr")
    assert "twin study to control for genetics" in slide  # spaces restored in the bold title
    assert "in 100 twin pairs discordant for" in slide
    rec = next(s for s in kb.segments(_video(kb, "nih_twin_study_talk.mp4")["video_id"], "ocr") if "twin study" in s.text.lower())
    assert rec.start == 0.0 and rec.end > 65.0  # the slide stays up until the last seconds


def test_sunscreen_ad_cuts_and_text_slides(kb):
    shots = kb.segments(_video(kb, "sunscreen_ad.mp4")["video_id"], "shot")
    starts = [s.start for s in shots]
    matched = [c for c in SUNSCREEN_CUTS if any(abs(c - t) <= 0.2 for t in starts)]
    assert len(matched) >= 7, (starts, SUNSCREEN_CUTS)
    screen = _text(kb, "sunscreen_ad.mp4", "ocr")
    assert "key ingredients" in screen and "key benefits" in screen.replace("keybenefits", "key benefits")
    assert "sunscreen" in _text(kb, "sunscreen_ad.mp4", "asr")


def test_screencast_without_audio(kb):
    row = _video(kb, "gnome_display_settings.webm")
    assert row["counts"].get("asr", 0) == 0 and row["warnings"] == ["asr: no audio track; speech skipped"]
    screen = _text(kb, "gnome_display_settings.webm", "ocr")
    assert "mirror displays" in screen and "1024 x 768" in screen


def test_music_only_clips_get_no_invented_speech(kb):
    assert _video(kb, "big_buck_bunny_0_30.webm")["counts"].get("asr", 0) == 0
    assert len(kb.segments(_video(kb, "big_buck_bunny_0_30.webm")["video_id"], "shot")) >= 3


def test_speech_times_match_the_reference_line_timings(kb):
    timings = (EVAL_DIR / "audio" / "shakespeare_sonnet_1_line_timings.srt.txt").read_text()
    lines = re.findall(r"(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)", timings)
    asr = kb.segments(_video(kb, "shakespeare_sonnet_1.mp3")["video_id"], "asr")
    found = 0
    for *t, text in lines:
        t = [int(x) for x in t]
        start = t[0] * 3600 + t[1] * 60 + t[2] + t[3] / 1000
        end = t[4] * 3600 + t[5] * 60 + t[6] + t[7] / 1000
        words = [w for w in re.findall(r"[a-z']+", text.lower()) if len(w) > 4]
        if not words:
            continue
        covering = " ".join(s.text.lower() for s in asr if s.start < end + 1.0 and s.end > start - 1.0)
        found += sum(w in covering for w in words) / len(words) >= 0.5
    assert found >= 0.7 * len([ln for ln in lines if any(len(w) > 4 for w in re.findall(r"[a-z']+", ln[-1].lower()))])


def test_jfk_quote(kb):
    asr = kb.segments(_video(kb, "jfk_inaugural.flac")["video_id"], "asr")
    quote = next(s for s in asr if "ask not what your country can do for you" in s.text.lower())
    assert quote.start < 1.0 and quote.end < 11.5


def test_nih_talk_knowledge_graph(kb):
    nih = _video(kb, "nih_twin_study_talk.mp4")["video_id"]
    for name in ("Twin study", "TBI", "dementia", "Duke"):
        entity = kb.graph_entity(name)
        assert entity is not None, name
        assert nih in entity["videos"] and entity["appearances"], name
    tbi = kb.graph_entity("TBI")
    assert "dementia" in {n["entity"].lower() for n in tbi["neighbours"]}
    assert all(a["video_id"] == nih for a in tbi["appearances"])
    names = {n["entity"] for n in tbi["neighbours"]}
    assert not any("=" in n for n in names)  # numbers read off the slide are not concepts
