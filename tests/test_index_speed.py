"""Indexing cost in proportion to what changed (issue 21): OCR reads only changed regions and
recalls pictures seen before; sound runs beside pictures; the estimate comes before any work.

Speeds themselves are measured by ``benchmarks.bench_speed``, never here: these tests check
that the faster paths find the same things, and that they do less work (counted, not timed).
"""

from __future__ import annotations

import json
import re
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import pytest

from conftest import eval_file


def _bgr(slide) -> np.ndarray:
    from support.synth import render_slide

    return np.ascontiguousarray(np.asarray(render_slide(slide).convert("RGB"))[:, :, ::-1])


def test_a_changed_bullet_is_read_alone_and_the_rest_is_kept():
    from support.synth import Slide

    from indexers.ocr_regions import changed_regions, grey_view
    from vrag.backends.ocr import RapidOCRBackend
    from vrag.config import Config

    before = _bgr(Slide(title="Volcanoes of Hawaii", bullets=["Hekla erupted in 1104", "Basalt plateaus"]))
    after = _bgr(Slide(title="Volcanoes of Hawaii", bullets=["Hekla erupted in 1104", "Lava tubes drain"]))
    ocr = RapidOCRBackend(Config.load())
    lines = ocr.read(before)
    assert {"Volcanoes of Hawaii", "Basalt plateaus"} <= {ln.text for ln in lines}
    regions = changed_regions(grey_view(after), grey_view(before), (after.shape[1], after.shape[0]), lines)
    assert regions, "the new bullet is a change"
    area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in regions)
    assert area < 0.25 * after.shape[0] * after.shape[1], regions
    title = next(ln for ln in lines if ln.text == "Volcanoes of Hawaii")
    assert not any(x0 < title.box[1][0] and title.box[0][0] < x1 and y0 < title.box[2][1] and title.box[0][1] < y1
                   for x0, y0, x1, y1 in regions), "the unchanged title lies outside the changed regions"
    recognised = ocr.recognised
    again = ocr.read(after, previous=lines, regions=regions)
    texts = {ln.text for ln in again}
    assert {"Volcanoes of Hawaii", "Hekla erupted in 1104", "Lava tubes drain"} <= texts
    assert "Basalt plateaus" not in texts
    assert ocr.recognised - recognised <= 2, "only the changed line is recognised"
    assert changed_regions(grey_view(before), grey_view(before), (1280, 720), lines) == []


def _ocr_kb(tmp_path: Path, video: Path, incremental: bool):
    from vrag import KnowledgeBase
    from vrag.backends import get_backend

    kb = KnowledgeBase(tmp_path / f"kb-{incremental}", stages=("shot", "ocr"), ocr_incremental=incremental)
    ocr = get_backend("ocr", kb.config)
    reads, recognised = ocr.reads, ocr.recognised
    assert kb.index([video]).ok
    return kb, ocr.reads - reads, ocr.recognised - recognised


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _unmatched(xs: set[str], ys: set[str]) -> list[str]:
    return [x for x in xs if not any(SequenceMatcher(None, _norm(x), _norm(y)).ratio() >= 0.8 for y in ys)]


def test_the_real_screencast_reads_the_same_lines_for_less_work(tmp_path):
    video = eval_file("media/gnome_display_settings.webm")
    results = {}
    for incremental in (False, True):
        kb, reads, recognised = _ocr_kb(tmp_path, video, incremental)
        lines = {ln for s in kb.segments(modality="ocr") for ln in s.text.splitlines() if ln.strip()}
        results[incremental] = (lines, recognised)
    (whole, whole_rec), (incr, incr_rec) = results[False], results[True]
    assert len(whole) >= 25
    assert _unmatched(whole, incr) == [], "every line read from whole frames is still read"
    assert len(_unmatched(incr, whole)) <= 0.1 * len(whole)
    for must in ("Resolution:", "Detect Displays", "Keep This Configuration"):
        assert any(_norm(must) == _norm(line) for line in incr), must
    assert incr_rec < 0.85 * whole_rec, (incr_rec, whole_rec)


def test_a_slide_shown_again_is_recalled_without_reading(tmp_path):
    from support.synth import Slide, make_lecture

    a = Slide(title="Photosynthesis basics", bullets=["Chlorophyll absorbs light"], min_seconds=5.0)
    b = Slide(title="Cell respiration", bullets=["Mitochondria make ATP"], min_seconds=5.0)
    video = tmp_path / "aba.mp4"
    make_lecture([a, b, a], video, with_audio=False)
    runs = {}
    for incremental in (False, True):
        kb, reads, _recognised = _ocr_kb(tmp_path, video, incremental)
        spans = sorted((round(s.start), s.text.splitlines()[0]) for s in kb.segments(modality="ocr"))
        runs[incremental] = (spans, reads)
    assert runs[True][0] == runs[False][0]
    assert [t for _s, t in runs[True][0]].count("Photosynthesis basics") == 2
    assert runs[True][1] < runs[False][1], "the third slide is the first one again: no read"


def test_sound_beside_pictures_finds_the_same_records(tmp_path, lecture):
    from vrag import KnowledgeBase

    path, _spans = lecture
    found = {}
    for parallel in (False, True):
        kb = KnowledgeBase(tmp_path / f"kb-{parallel}", index_parallel=parallel)
        (result,) = kb.index([path]).results
        assert result.status == "indexed", result.reason
        assert {"asr", "frames", "ocr", "audio_event"} <= set(result.timings)
        found[parallel] = sorted((s.modality, round(s.start, 1), s.text) for s in kb.segments()
                                 if s.modality in ("asr", "ocr", "shot", "audio_event", "frame"))
    assert found[True] == found[False]


def test_estimate_prices_each_file_before_any_work(tmp_path, lecture, capsys):
    from vrag.cli import main

    path, _spans = lecture
    db = tmp_path / "kb"
    missing = tmp_path / "nope.mp4"
    assert main(["index", "--estimate", "--json", str(path), str(missing), "--db", str(db)]) == 1
    out = json.loads(capsys.readouterr().out)
    by_path = {Path(f["path"]).name: f for f in out["files"]}
    todo, bad = by_path[path.name], by_path["nope.mp4"]
    assert todo["status"] == "todo" and todo["duration"] > 10
    assert 0 < todo["low"] <= todo["seconds"] <= todo["high"]
    assert {"asr", "ocr"} <= set(todo["stages"])
    assert bad["status"] == "failed" and bad["reason"]
    assert not db.exists(), "an estimate writes nothing"
    assert main(["index", "-q", str(path), "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["index", "--estimate", "--json", str(path), "--db", str(db)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["files"][0]["status"] == "unchanged" and again["seconds"] == 0
    assert main(["index", "--estimate", str(path), "--db", str(db), "--set", "ocr_interval=3"]) == 0
    text = capsys.readouterr().out
    assert "ocr" in text and "1 to index" in text, text


@pytest.mark.parametrize("value", ["2", "maybe"])
def test_bad_parallel_setting_is_one_clear_line(tmp_path, value, capsys):
    from vrag.cli import main

    assert main(["index", "--estimate", str(tmp_path), "--db", str(tmp_path / "kb"), "--set",
                 f"index_parallel={value}"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "index_parallel" in err[0], err


def test_voice_mel_frames_match_resemblyzers_librosa_spectrogram(tmp_path):
    """The speaker stage's mel frames come from numpy alone (no librosa import: seconds of a fresh
    process); they must be the frames resemblyzer's own preprocessing makes from the same speech."""
    from vrag.backends.voice import _webrtcvad_or_stand_in

    _webrtcvad_or_stand_in()  # resemblyzer imports webrtcvad, whose PyPI build needs pkg_resources
    from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram
    from support.synth import make_speech

    from vrag.backends.voice import mel_frames
    from vrag.media.audio import AudioChunks

    wav_path = tmp_path / "speech.wav"
    make_speech(wav_path, ["The lava tubes drain the basalt plateau."], "en-us")
    ((_, samples),) = list(AudioChunks(str(wav_path), 600.0))
    for wav in (normalize_volume(samples, -30, increase_only=True), samples[:399], samples[:4000]):
        ours, theirs = mel_frames(wav), wav_to_mel_spectrogram(wav)
        assert ours.shape == theirs.shape and ours.dtype == np.float32
        assert np.abs(ours - theirs).max() <= 1e-5 * np.abs(theirs).max()


def test_texts_embed_in_token_budgets_with_the_same_vectors(monkeypatch):
    """Long texts go to ONNX Runtime in small batches (attention grows with rows x tokens^2): each run
    holds at most TOKEN_BUDGET padded tokens, and every vector is the one the text gets alone."""
    from vrag.backends import text_embed_onnx
    from vrag.backends.text_embed import text_embedder
    from vrag.config import Config

    embedder = text_embedder(Config.load())
    texts = ["volcano " * n for n in (250, 3, 120, 1, 60, 200, 9, 30)] + ["lava tubes"] * 40
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    model = embedder._load()
    if not isinstance(model, text_embed_onnx.OnnxMiniLM):
        pytest.skip("the ONNX text embedder is not usable here")
    shapes = []
    run = model.session.run
    monkeypatch.setattr(model.session, "run", lambda out, feed: shapes.append(feed["input_ids"].shape) or run(out, feed),
                        raising=False)
    together = embedder.embed(texts)
    assert all(rows * width <= text_embed_onnx.TOKEN_BUDGET or rows == 1 for rows, width in shapes), shapes
    assert sum(rows for rows, _ in shapes) == len(texts)
    assert len(shapes) < len(texts), "short texts still share a run"
    assert np.min(np.sum(alone * together, axis=1)) >= 0.9999


def test_the_same_sound_is_detected_once_for_speech_and_audio_events(tmp_path, monkeypatch):
    """The speech stage (sung regions) and the audio-event stage read the same chunk: the event model runs once."""
    from support.synth import make_speech

    from vrag.backends import get_backend
    from vrag.config import Config
    from vrag.media.audio import AudioChunks

    wav_path = tmp_path / "speech.wav"
    make_speech(wav_path, ["The lava tubes drain the basalt plateau.", "Hekla erupted again."], "en-us")
    ((_, samples),) = list(AudioChunks(str(wav_path), 600.0))
    backend = get_backend("audio_events", Config.load())
    model, calls = backend.load(), []
    detect = model.detect
    monkeypatch.setattr(model, "detect", lambda audio: calls.append(len(audio)) or detect(audio), raising=False)
    first = backend.detect(samples, 5.0)
    assert any(label == "speech" for label, _a, _b in first)
    assert backend.detect(samples.copy(), 5.0) == first and len(calls) == 1
    backend.detect(samples, 0.0)
    assert len(calls) == 2, "another offset is another call"
    louder = samples * 0.5
    backend.detect(louder, 5.0)
    assert len(calls) == 3, "other sound is detected again"


def _cuts(path: Path, skip_still: bool) -> tuple[list[float], int]:
    """Hard cuts as the shot stage finds them, from frames decoded with or without still-skipping."""
    import scenedetect

    from vrag.media.frames import FrameStream

    fps = 30.0
    detector = scenedetect.ContentDetector(threshold=22.0, min_scene_len=18)
    stream = FrameStream(str(path), fps, skip_still=skip_still)
    cuts = []
    for frame in stream:
        cuts += [round(c.seconds, 2) for c in detector.process_frame(scenedetect.FrameTimecode(round(frame.t * fps), fps=fps),
                                                                     frame.small_bgr())]
    return cuts, stream.decoded


def test_still_pictures_decode_fewer_frames_and_find_the_same_cuts(lecture):
    """Slides stand still for seconds: only the frames others refer to are decoded then, and every
    slide change is still found at the same time."""
    path, spans = lecture
    full, decoded_all = _cuts(path, skip_still=False)
    fewer, decoded_some = _cuts(path, skip_still=True)
    assert len(full) == len(spans) - 1, full
    assert fewer == full
    assert decoded_some < 0.8 * decoded_all, (decoded_some, decoded_all)


@pytest.mark.parametrize("name", ["sunscreen_ad.mp4", "nextqa_4405327307_stage.mp4", "gnome_display_settings.webm"])
def test_moving_pictures_keep_their_cuts_with_still_skipping(name):
    """An ad's quick cuts, a hand-held camera and a screencast: the same cuts either way."""
    path = eval_file(f"media/{name}")
    assert _cuts(path, skip_still=True)[0] == _cuts(path, skip_still=False)[0]


_OPENMP_PROBE = """
import os, sys
seen = {}
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "ctranslate2" and "policy" not in seen:
            seen["policy"] = os.environ.get("OMP_WAIT_POLICY")
        return None
sys.meta_path.insert(0, Spy())
from vrag.backends import get_backend
from vrag.config import Config
get_backend("asr", Config.load(asr_model="tiny.en"))._batched.get()
print(seen.get("policy"))
"""


@pytest.mark.parametrize("given,expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_whispers_openmp_threads_sleep_unless_the_user_says(given, expected):
    """CTranslate2's OpenMP workers spin after each region unless OMP_WAIT_POLICY=PASSIVE is set before the
    library loads (it doubled the CPU of a two-lane index on a busy machine); a policy the user set is kept."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", _OPENMP_PROBE], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == expected


def _frames(path: Path, same_picture: bool, thread_type: str, monkeypatch) -> tuple[list, list, int]:
    """Cuts, and every sampled frame's (time, shot-detection image, thumbnail), as the frame pass sees them."""
    import scenedetect

    import vrag.media.frames as frames

    monkeypatch.setattr(frames, "THREAD_TYPE", thread_type)
    if not same_picture:
        monkeypatch.setattr(frames, "same_picture", lambda a, b: False)
    fps = 30.0
    detector = scenedetect.ContentDetector(threshold=22.0, min_scene_len=18)
    stream = frames.FrameStream(str(path), fps, skip_still=True)
    cuts, seen = [], []
    for frame in stream:
        cuts += [round(c.seconds, 2) for c in detector.process_frame(scenedetect.FrameTimecode(round(frame.t * fps), fps=fps),
                                                                     frame.small_bgr())]
        seen.append((round(frame.t, 3), frame.small_bgr().tobytes(), frame.thumb().tobytes()))
    return cuts, seen, stream.repeated


def test_a_repeated_picture_reuses_its_conversions_and_they_are_the_same(lecture, monkeypatch):
    """A still slide decodes to byte-identical frames: their shot-detection images and thumbnails are
    taken from the frame before, and come out exactly as converting them again would."""
    path, spans = lecture
    cuts, seen, repeated = _frames(path, True, "NONE", monkeypatch)
    again, seen_again, none = _frames(path, False, "NONE", monkeypatch)
    assert none == 0 and repeated > 0.5 * len(seen), (repeated, len(seen))
    assert cuts == again and len(cuts) == len(spans) - 1 and seen == seen_again


@pytest.mark.parametrize("name", ["sunscreen_ad.mp4", "nextqa_4405327307_stage.mp4", "gnome_display_settings.webm"])
def test_one_decoding_thread_finds_the_cuts_frame_threads_found(name, monkeypatch):
    """Decoding on one thread (less CPU on 2 cores) with repeated pictures reused: the cuts the frame
    pass found before, with FFmpeg's frame threads and every picture converted."""
    path = eval_file(f"media/{name}")
    assert _frames(path, True, "NONE", monkeypatch)[0] == _frames(path, False, "AUTO", monkeypatch)[0]


def _stage_cuts(path: Path) -> tuple[list[float], int]:
    """Cuts as the shot stage itself finds them in the frame pass (repeated pictures reused)."""
    from types import SimpleNamespace

    from vrag.config import Config
    from vrag.indexers.scenes import ShotStage
    from vrag.media.frames import FrameStream

    cfg = Config.load(env={})
    ctx = SimpleNamespace(cfg=cfg, cuts=[], producers={})
    stage = ShotStage()
    stage.setup(ctx)
    stream = FrameStream(str(path), float(cfg.scene_fps), skip_still=True)
    for frame in stream:
        stage.on_frame(frame, ctx)
    end = stream.last_time + 0.04
    ctx.cuts.extend(float(c.seconds) for c in stage._detector.post_process(stage._timecode(end)))
    return [round(c, 2) for c in ctx.cuts], stream.repeated


@pytest.mark.parametrize("name", ["lecture", "sunscreen_ad.mp4", "nextqa_4405327307_stage.mp4",
                                  "gnome_display_settings.webm"])
def test_the_shot_stage_skips_repeated_pictures_and_finds_the_same_cuts(name, lecture, monkeypatch):
    """A picture the detector saw last is not compared again (its score is 0): the stage's cuts are
    those of every frame through PySceneDetect, as the frame pass fed it before (frame threads)."""
    import vrag.indexers.scenes as scenes
    import vrag.media.frames as frames

    path = lecture[0] if name == "lecture" else eval_file(f"media/{name}")
    cuts, repeated = _stage_cuts(path)
    monkeypatch.setattr(scenes, "_still_frame", lambda detector: None)
    monkeypatch.setattr(frames, "same_picture", lambda a, b: False)
    monkeypatch.setattr(frames, "THREAD_TYPE", "AUTO")
    assert cuts == _stage_cuts(path)[0]
    if name == "lecture":
        assert repeated > 0 and len(cuts) == len(lecture[1]) - 1
