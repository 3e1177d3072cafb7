"""``vrag watch``: a real watchdog observer on a temp folder keeps a real knowledge base in sync: files
already there are indexed, a file copied in two halves is indexed once (after it stops growing), a
deleted file is removed, the one-writer lock is waited for, and Ctrl-C ends the command cleanly."""

from __future__ import annotations

import shutil
import signal
import threading
import time

import pytest

from vrag import KnowledgeBase
from vrag.clip import keyframes
from vrag.index_lock import write_lock
from vrag.watch import FolderWatcher
from support.services import spawn
from support.synth import Slide, make_lecture

pytest.importorskip("watchdog", reason="the watch tests need the watch extra (pip install 'vrag[watch]')")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two short clips with known narration, made once."""
    folder = tmp_path_factory.mktemp("clips")
    for topic in ("rivers", "deserts"):
        make_lecture([Slide(title=f"All about {topic}", narration=f"This clip is about {topic}.")],
                     folder / f"{topic}.mp4")
    return folder


class Running:
    """A FolderWatcher running on its own thread, its events collected."""

    def __init__(self, kb, folder, settle):
        self.events, self.stop = [], threading.Event()
        self.watcher = FolderWatcher(kb, folder, settle=settle, on_event=self.events.append)
        self.thread = threading.Thread(target=self.watcher.run, kwargs={"stop": self.stop, "poll": 0.2}, daemon=True)
        self.thread.start()

    def wait_for(self, kind: str, name: str, timeout: float = 120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events if e.kind == kind and e.path.endswith(name)]
            if found:
                return found[0]
            assert self.thread.is_alive(), self.events
            time.sleep(0.1)
        raise AssertionError(f"no {kind} event for {name} within {timeout} s: {self.events}")

    def close(self):
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def _copy_in_two_halves(src, dst, pause: float) -> None:
    data = src.read_bytes()
    with open(dst, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        time.sleep(pause)  # a slow copy: the file is half there for a while
        f.write(data[len(data) // 2:])


def test_existing_new_and_deleted_files(tmp_path, clips):
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(clips / "rivers.mp4", folder / "rivers.mp4")
    (folder / "notes.txt").write_text("not media")
    kb = KnowledgeBase(tmp_path / "kb", stages=("shot", "asr"))
    run = Running(kb, folder, settle=2.5)
    try:
        run.wait_for("indexed", "rivers.mp4")
        _copy_in_two_halves(clips / "deserts.mp4", folder / "deserts.mp4", pause=1.0)
        run.wait_for("indexed", "deserts.mp4")
        time.sleep(1.0)  # nothing more comes for it
        about_deserts = [e for e in run.events if e.path.endswith("deserts.mp4")]
        assert [e.kind for e in about_deserts] == ["indexed"], run.events  # once, and never half-copied
        videos = {v["path"].rsplit("/", 1)[-1]: v for v in kb.videos()}
        assert set(videos) == {"rivers.mp4", "deserts.mp4"}
        full = keyframes(clips / "deserts.mp4")[1]
        assert videos["deserts.mp4"]["status"] == "indexed" and abs(videos["deserts.mp4"]["duration"] - full) < 0.1
        assert kb.transcript("deserts.mp4", modalities="asr")  # the whole file: its speech was read

        (folder / "rivers.mp4").unlink()
        run.wait_for("removed", "rivers.mp4")
        assert [v["path"].rsplit("/", 1)[-1] for v in kb.videos()] == ["deserts.mp4"]
        assert not [e for e in run.events if e.kind == "failed"], run.events
    finally:
        run.close()


def test_waits_for_another_writer(tmp_path, clips):
    folder = tmp_path / "videos"
    folder.mkdir()
    kb = KnowledgeBase(tmp_path / "kb", stages=("shot",))
    run = Running(kb, folder, settle=0.5)
    try:
        time.sleep(1.0)  # the scan of the empty folder is done
        with write_lock(kb.store.path, "index"):  # another `vrag index` holds the knowledge base
            shutil.copy(clips / "rivers.mp4", folder / "rivers.mp4")
            waiting = run.wait_for("waiting", "rivers.mp4")
            assert "another process is writing to this knowledge base" in waiting.detail
            time.sleep(1.0)
            assert not [e for e in run.events if e.kind == "indexed"]
        run.wait_for("indexed", "rivers.mp4")
        assert [e.kind for e in run.events].count("waiting") == 1  # reported once, not every poll
    finally:
        run.close()


def test_cli_ctrl_c_exits_cleanly(tmp_path, clips):
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(clips / "rivers.mp4", folder / "rivers.mp4")
    proc = spawn(["watch", str(folder), "--db", str(tmp_path / "kb"), "--settle", "0.5", "--set", "stages=shot"])
    try:
        line = proc.stdout.readline()  # the scan's result, printed as it happens
        assert line.startswith("indexed: ") and line.rstrip().endswith("rivers.mp4"), line
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert err.strip().splitlines() == [f"vrag watch: {folder} -> {tmp_path / 'kb'} (Ctrl-C to stop)",
                                         "vrag watch: stopped"]


def test_bad_arguments(tmp_path, capsys):
    from vrag.cli import main

    assert main(["watch", str(tmp_path / "nothing"), "--db", str(tmp_path / "kb")]) == 1
    assert capsys.readouterr().err == f"vrag: error: {tmp_path / 'nothing'}: not a folder\n"
    assert main(["watch", str(tmp_path), "--settle", "-1", "--db", str(tmp_path / "kb")]) == 1
    assert capsys.readouterr().err == "vrag: error: --settle -1: must be 0 seconds or more\n"


def test_ctrl_c_stops_even_when_the_parent_ignores_it(tmp_path, clips):
    """A parent that ignores SIGINT (a script starting `vrag watch &`, a test runner) passes that on;
    the watch still stops on Ctrl-C, after the file it is on, and says so."""
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(clips / "rivers.mp4", folder / "rivers.mp4")
    proc = spawn(["watch", str(folder), "--db", str(tmp_path / "kb"), "--settle", "0.5", "--set", "stages=shot"],
                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        line = proc.stdout.readline()
        assert line.startswith("indexed: "), line
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and err.strip().splitlines()[-1] == "vrag watch: stopped", err
