"""Concurrent use of one knowledge base: queries keep answering while `vrag index` writes, and a
second writer refuses at once with a clear message instead of interleaving with the first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from vrag import KnowledgeBase
from vrag.cli import main
from vrag.index_lock import IndexLockedError, write_lock
from support.synth import Slide, make_lecture

TOPICS = ["rivers", "deserts", "forests", "oceans", "mountains", "glaciers"]


def _clip(path, topic):
    make_lecture([Slide(title=f"All about {topic}", bullets=[f"{topic.title()} cover the planet"],
                        narration=f"This short clip is about {topic} and how they shape the land.")], path)


@pytest.fixture(scope="module")
def busy(tmp_path_factory, lecture):
    """A knowledge base holding the lecture, and a folder of new clips for a background indexer."""
    root = tmp_path_factory.mktemp("busy")
    folder = root / "new"
    folder.mkdir()
    for topic in TOPICS:
        _clip(folder / f"{topic}.mp4", topic)
    db = root / "kb"
    src, spans = lecture
    assert KnowledgeBase(db, stages=("shot", "asr", "ocr")).index([src]).ok
    return db, folder, src, spans


def _indexer(db, folder):
    return subprocess.Popen([sys.executable, "-m", "vrag", "index", str(folder), "--db", str(db), "-q",
                             "--only", "shot,asr,ocr"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_queries_answer_correctly_while_an_indexer_writes(busy, capsys):
    db, folder, src, spans = busy
    glacier = spans[1]
    proc = _indexer(db, folder)
    kb = KnowledgeBase(db)
    answered, seen_videos, cli_runs = 0, set(), 0
    try:
        while proc.poll() is None:
            result = kb.search("How much thickness does the largest glacier lose every year?", k=3)
            top = result.to_json()["hits"][0]
            assert top["path"] == str(src) and top["start"] <= glacier.end and top["end"] >= glacier.start
            answer = kb.ask("How much thickness does the largest glacier lose every year?").answer.text
            assert "metre" in answer.lower() or "meter" in answer.lower(), answer
            answered += 1
            seen_videos.add(len(kb.status()["videos"]))
            if cli_runs < 2:  # the CLI too, in this process: same code path as a user's shell
                assert main(["search", "glacier thickness", "--db", str(db), "--json", "-k", "2"]) == 0
                assert json.loads(capsys.readouterr().out)["hits"][0]["path"] == str(src)
                cli_runs += 1
    finally:
        out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert answered >= 3, "the indexer finished before queries could overlap it"
    assert len(seen_videos) >= 2  # queries ran while videos were being added
    videos = KnowledgeBase(db).status()["videos"]
    assert len(videos) == 1 + len(TOPICS) and all(v["status"] == "indexed" for v in videos)
    found = KnowledgeBase(db).search("how deserts shape the land", k=1, mode="naive").hits[0]
    assert found.path.endswith("deserts.mp4")


def test_a_second_writer_refuses_with_a_clear_message_and_nothing_is_duplicated(tmp_path, lecture):
    folder = tmp_path / "clips"
    folder.mkdir()
    for topic in TOPICS[:3]:
        _clip(folder / f"{topic}.mp4", topic)
    db = tmp_path / "kb"
    first = _indexer(db, folder)
    try:
        deadline = time.monotonic() + 60
        while not (db / ".vrag-write.lock").exists() or not (db / ".vrag-write.lock").read_text():
            assert time.monotonic() < deadline and first.poll() is None, "the first indexer never took the lock"
            time.sleep(0.05)
        second = subprocess.run([sys.executable, "-m", "vrag", "index", str(folder), "--db", str(db), "-q"],
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        err = second.stderr.strip()
        assert len(err.splitlines()) == 1 and err.startswith("vrag: error: ")
        assert "another process is writing to this knowledge base" in err and f"pid {first.pid}" in err
        removing = subprocess.run([sys.executable, "-m", "vrag", "remove", str(folder), "--db", str(db)],
                                  capture_output=True, text=True, timeout=120)
        assert removing.returncode == 1 and "another process is writing" in removing.stderr
    finally:
        _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    kb = KnowledgeBase(db, stages=("shot", "asr", "ocr"))
    assert [r.status for r in kb.index([folder]).results] == ["unchanged"] * 3  # the lock is free again
    segs = kb.segments()
    assert len({s.segment_id for s in segs}) == len(segs) == sum(sum(v["counts"].values()) for v in kb.status()["videos"])


def test_the_lock_dies_with_its_holder_and_is_per_knowledge_base(tmp_path):
    db = tmp_path / "kb"
    holder = subprocess.Popen([sys.executable, "-c", "import time, sys; from vrag.index_lock import write_lock\n"
                               f"with write_lock({str(db)!r}):\n    print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(IndexLockedError, match=f"pid {holder.pid}"):
        with write_lock(db):
            pass
    with write_lock(tmp_path / "other"):  # another knowledge base is not affected
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with write_lock(db):  # kill -9 leaves no stale lock
        pass
