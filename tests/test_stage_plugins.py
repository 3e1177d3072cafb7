"""Third-party stages: one class in an installed package, registered through the ``vrag.stages``
entry-point group, indexed, redone when its version changes, purged by ``vrag remove``.

The package is a real installed distribution (a ``.dist-info`` with ``entry_points.txt``) in a
temp directory put on ``PYTHONPATH`` of a ``vrag`` subprocess, as ``pip install`` would leave it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vrag import KnowledgeBase

PLUGIN = '''
from vrag.indexers import Stage
from vrag.schema import Segment


class LoudnessStage(Stage):
    """One record per video saying how loud its audio track is (a stand-in for a real analysis)."""

    name = "loudness"
    version = "{version}"
    settings = ("audio_events",)
    writes = ("loudness",)

    def setup(self, ctx):
        ctx.producers["loudness"] = "loudness@" + self.version_tag()

    def run(self, video, ctx):
        level = "audible" if video.has_audio else "silent"
        yield Segment(video.video_id, "loudness", 0.0, video.duration, f"the soundtrack is {{level}}",
                      ctx.producers["loudness"], video.uri, meta={{"level": level}})
'''


def _install(site: Path, version: str) -> None:
    """``vrag-loudness`` as pip would install it: the module plus its dist-info."""
    (site / "vrag_loudness.py").write_text(PLUGIN.format(version=version))
    info = site / "vrag_loudness-0.1.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vrag-loudness\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[vrag.stages]\nloudness = vrag_loudness:LoudnessStage\n")
    (info / "RECORD").write_text("")


def _vrag(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VRAG_") or k == "VRAG_ASR_MODEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["HF_HUB_OFFLINE"] = "1"
    done = subprocess.run([sys.executable, "-m", "vrag", *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def _index(site: Path, video: Path, db: Path) -> list[dict]:
    out = _vrag(site, "index", str(video), "--db", str(db), "--only", "asr,loudness", "--json")
    return json.loads(out.stdout)["files"]


@pytest.fixture
def clip(tmp_path) -> Path:
    path = tmp_path / "media" / "tone.mp4"
    path.parent.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-shortest", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)], check=True)
    return path


def test_entry_point_stage_indexes_is_redone_on_a_new_version_and_is_removed(tmp_path, clip):
    site, db = tmp_path / "site", tmp_path / "kb"
    site.mkdir()
    _install(site, "1")

    (first,) = _index(site, clip, db)
    assert first["status"] == "indexed", first
    assert first["counts"]["loudness"] == 1
    kb = KnowledgeBase(db)
    (record,) = kb.segments(modality="loudness")
    assert record.text == "the soundtrack is audible" and record.producer == "loudness@loudness-1"
    (video,) = kb.status()["videos"]
    assert video["counts"]["loudness"] == 1 and video["models"]["loudness"] == "loudness@loudness-1"

    (again,) = _index(site, clip, db)  # nothing changed: nothing redone
    assert again["status"] == "unchanged", again

    _install(site, "2")  # the plugin's new version redoes its records, and only its records
    asr_before = {s.segment_id for s in kb.segments(modality="asr")}
    (redone,) = _index(site, clip, db)
    assert redone["status"] == "indexed", redone
    assert "asr" not in redone["timings"] and "loudness" in redone["timings"]
    (record,) = kb.segments(modality="loudness")
    assert record.producer == "loudness@loudness-2"
    assert {s.segment_id for s in kb.segments(modality="asr")} == asr_before

    _vrag(site, "remove", str(clip), "--db", str(db))
    assert kb.segments(modality="loudness") == [] and kb.status()["videos"] == []


def test_a_class_that_is_not_a_stage_is_refused_by_name(tmp_path, clip):
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "1")
    (site / "vrag_loudness.py").write_text("class LoudnessStage:\n    name = 'loudness'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VRAG_") or k == "VRAG_ASR_MODEL"}
    env["PYTHONPATH"] = str(site)
    done = subprocess.run([sys.executable, "-m", "vrag", "index", str(clip), "--db", str(tmp_path / "kb"), "-q"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert "stage 'loudness': vrag_loudness.LoudnessStage is not a subclass of Stage" in done.stderr, done.stderr


def test_a_failing_stage_keeps_its_records_names_itself_and_is_always_closed(tmp_path, clip, monkeypatch):
    """In-process: a stage registered with the registry fails on a rerun; its failure is recorded
    under its name, its earlier records stay, the video is partial until it succeeds, and
    ``close`` ran every time."""
    from vrag import registry
    from vrag.errors import MediaError
    from vrag.indexers import Stage
    from vrag.schema import Segment

    closed = []

    class Flaky(Stage):
        name = "flaky"
        writes = ("flaky",)
        broken = False

        def run(self, video, ctx):
            if self.broken:
                raise MediaError(video.path, "cannot hear it")
            yield Segment(video.video_id, "flaky", 0.0, 1.0, f"flaky version {self.version}",
                          f"flaky@{self.version_tag()}", video.uri)

        def close(self):
            closed.append(self.version)

    monkeypatch.setitem(registry._REGISTRY, "stage", dict(registry.registered("stage")))
    registry.register("stage", "flaky")(Flaky)
    kb = KnowledgeBase(tmp_path / "kb", stages=("flaky",))
    assert kb.index([clip]).ok
    (first,) = kb.segments(modality="flaky")

    monkeypatch.setattr(Flaky, "version", "2")
    monkeypatch.setattr(Flaky, "broken", True)
    (result,) = kb.index([clip]).results
    assert result.status == "partial" and result.reason.startswith("flaky: ") and "cannot hear it" in result.reason
    assert [s.segment_id for s in kb.segments(modality="flaky")] == [first.segment_id]  # the old records stay
    (video,) = kb.status()["videos"]
    assert video["status"] == "partial" and video["errors"] == [result.reason]

    monkeypatch.setattr(Flaky, "broken", False)
    (result,) = kb.index([clip]).results  # retried, as it is not marked done
    assert result.status == "indexed"
    (record,) = kb.segments(modality="flaky")
    assert record.text == "flaky version 2" and kb.status()["videos"][0]["errors"] == []
    assert closed == ["1", "2", "2"]
