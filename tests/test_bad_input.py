"""Bad input: one clear line per file naming the reason; the batch goes on; nothing indexed is lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vrag import KnowledgeBase
from support.synth import Slide, make_color_video, make_lecture


def _unknown_codec_avi(path: Path) -> None:
    """An AVI whose video FourCC no decoder knows (raw I420 relabelled 'ZZZZ')."""
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1",
         "-c:v", "rawvideo", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )
    data = bytearray(path.read_bytes())
    strh, strf = data.find(b"strh"), data.find(b"strf")
    data[strh + 12 : strh + 16] = b"ZZZZ"
    data[strf + 24 : strf + 28] = b"ZZZZ"
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory, lecture):
    d = tmp_path_factory.mktemp("bad")
    src, _ = lecture
    shutil.copy2(src, d / "it's café ☕ talk.mp4")  # quote, non-ASCII, spaces: a good file
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.mkv").write_text("this is a text file with a video extension\n" * 50)
    (d / "noise.avi").write_bytes(os.urandom(50_000))
    data = src.read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 2])
    from PIL import Image

    Image.new("RGB", (64, 64), "red").save(d / "still.png")
    (d / "still.png").rename(d / "still.mov")
    make_color_video(d / "tiny.mkv", [("blue", 0.4)])  # shorter than a second
    _unknown_codec_avi(d / "odd codec.avi")
    webm = d / "cut.webm"
    make_lecture([Slide(title="Damaged Ending", narration="The end of this file is missing.")], webm, size=(640, 360))
    raw = webm.read_bytes()
    webm.write_bytes(raw[: int(len(raw) * 0.6)])  # Matroska plays up to the damage
    return d


def test_cli_reports_each_bad_file_in_one_line_and_indexes_the_rest(bad_folder, tmp_path):
    db = tmp_path / "kb"
    proc = subprocess.run(
        [sys.executable, "-m", "vrag", "index", str(bad_folder), "--db", str(db), "--json"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 1, proc.stderr
    files = {Path(f["path"]).name: f for f in json.loads(proc.stdout)["files"]}
    reasons = {name: f["reason"] for name, f in files.items() if f["status"] == "failed"}
    assert files["it's café ☕ talk.mp4"]["status"] == "indexed"
    assert files["tiny.mkv"]["status"] == "indexed"
    assert reasons["empty.mp4"] == "empty file (0 bytes)"
    assert reasons["notes.mkv"].startswith("not a readable media file")
    assert reasons["noise.avi"].startswith("not a readable media file")
    # the index at the front of this mp4 survived the cut: what decodes is indexed, the rest is flagged
    assert files["truncated.mp4"]["status"] == "partial"
    assert "media ends early (truncated or damaged): decoded 8." in files["truncated.mp4"]["reason"]
    assert reasons["still.mov"] == "a still image, not a video"
    assert reasons["odd codec.avi"] == "unsupported codec in video stream 0"
    for reason in reasons.values():
        assert "\n" not in reason and "Traceback" not in reason
    assert files["cut.webm"]["status"] in ("indexed", "partial")
    status = {Path(v["path"]).name: v for v in KnowledgeBase(db).status()["videos"]}
    assert status["it's café ☕ talk.mp4"]["counts"]["asr"] >= 3
    assert status["empty.mp4"]["status"] == "failed" and status["empty.mp4"]["errors"] == ["empty file (0 bytes)"]
    assert "damaged" in " ".join(s.text.lower() for s in KnowledgeBase(db).segments(status["cut.webm"]["video_id"]))


def test_file_that_vanishes_mid_run_is_reported_and_others_survive(tmp_path, lecture):
    src, _ = lecture
    folder = tmp_path / "v"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy2(src, folder / name)
    (folder / "b.mp4").write_bytes((folder / "b.mp4").read_bytes() + b"\0")  # distinct content
    kb = KnowledgeBase(tmp_path / "kb", stages=("ocr",))

    def delete_b(event):
        if event.stage == "start" and event.path.endswith("a.mp4"):
            (folder / "b.mp4").unlink()

    report = kb.index([folder], progress=delete_b)
    results = {Path(r.path).name: r for r in report.results}
    assert results["a.mp4"].status == "indexed"
    assert results["b.mp4"].status == "failed"
    assert results["b.mp4"].reason == "file disappeared before it could be read"


def test_corrupted_reindex_keeps_what_was_indexed(tmp_path, lecture):
    src, _ = lecture
    video = tmp_path / "talk.mp4"
    shutil.copy2(src, video)
    kb = KnowledgeBase(tmp_path / "kb", stages=("ocr",))
    kb.index([video])
    before = kb.segments()
    video.write_bytes(b"garbage" * 100)
    report = kb.index([video])
    assert report.results[0].status == "failed"
    assert [s.segment_id for s in kb.segments()] == [s.segment_id for s in before]


def test_cli_errors_are_one_line_and_debug_shows_traceback(tmp_path):
    env = dict(os.environ)
    env.pop("VRAG_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "vrag", "index", str(tmp_path), "--set", "ocr_interval=soon"],
        capture_output=True, text=True, env=env,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "vrag: error: argument: ocr_interval='soon' is not a valid float (expected a non-negative number)"
    ]
    env["VRAG_DEBUG"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "vrag", "index", str(tmp_path), "--set", "ocr_interval=soon"],
        capture_output=True, text=True, env=env,
    )
    assert "Traceback" in proc.stderr and "ConfigError" in proc.stderr


def test_a_file_that_keeps_failing_has_one_status_row(tmp_path):
    bad = tmp_path / "broken.mp4"
    kb = KnowledgeBase(tmp_path / "kb", stages=("ocr",))
    for content in (b"not a video", b"still not a video"):
        bad.write_bytes(content)
        assert kb.index([bad]).results[0].status == "failed"
    rows = kb.status()["videos"]
    assert [(r["status"], r["errors"]) for r in rows] == [
        ("failed", ["not a readable media file (Invalid data found when processing input)"])
    ]


def test_identical_copies_in_one_run_are_indexed_once(tmp_path, lecture):
    src, _ = lecture
    for name in ("one.mp4", "two.mp4"):
        shutil.copy2(src, tmp_path / name)
    kb = KnowledgeBase(tmp_path / "kb", stages=("ocr",))
    results = kb.index([tmp_path]).results
    assert [(Path(r.path).name, r.status) for r in results] == [("one.mp4", "indexed"), ("two.mp4", "unchanged")]
    assert results[1].reason == f"same content as {tmp_path / 'one.mp4'}"
    assert len(kb.status()["videos"]) == 1
