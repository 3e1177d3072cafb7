"""`vrag index --engine ray` on a local Ray (2 CPUs) writes the same knowledge base as the local path.

Marked ``ray`` (``make test-ray``): needs the ``ray`` extra, and starting Ray takes a while.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from vrag import KnowledgeBase
from support.synth import Slide, make_lecture

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

STAGES = ("shot", "asr", "ocr", "frame", "graph")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    for name, title, narration in [
        ("curie", "Marie Curie in Paris", "Marie Curie discovered polonium in Paris in eighteen ninety eight."),
        ("lovelace", "Ada Lovelace", "Ada Lovelace wrote the first program for the Analytical Engine."),
        ("turing", "Alan Turing", "Alan Turing worked at Bletchley Park during the war."),
    ]:
        make_lecture([Slide(title=title, bullets=[f"About {name}"], narration=narration)], folder / f"{name}.mp4")
    return folder


def _snapshot(kb):
    segs = kb.segments()
    frames = kb.store.frames.read()
    entities = kb.store.graph.entities(["entity_id", "name", "type", "provenance"])
    relations = kb.store.graph.relations()
    return {
        "segments": sorted((s.segment_id, s.modality, s.text) for s in segs),
        "frames": sorted(s.segment_id for s in frames),
        "videos": sorted((v["path"], v["video_id"], v["status"], json.dumps(v["counts"], sort_keys=True))
                         for v in kb.status()["videos"]),
        "entities": sorted((e["entity_id"], e["name"], e["type"], e["provenance"]) for e in entities),
        "relations": sorted((r["source"], r["target"], r["type"], r["weight"]) for r in relations),
        "thumbs": sorted(p.relative_to(kb.store.path).as_posix() for p in (kb.store.path / "thumbs").rglob("*.jpg")),
    }


def test_ray_engine_writes_what_the_local_path_writes(local_ray, clips, tmp_path):
    local = KnowledgeBase(tmp_path / "local", stages=STAGES)
    assert local.index([clips]).ok
    distributed = KnowledgeBase(tmp_path / "ray", stages=STAGES, engine="ray", ray_workers=2)
    report = distributed.index([clips])
    assert report.ok and sorted(r.status for r in report.results) == ["indexed"] * 3
    a, b = _snapshot(local), _snapshot(distributed)
    assert a["segments"] and Counter(m for _i, m, _t in a["segments"])["asr"] >= 3
    for key in a:
        assert a[key] == b[key], key
    assert distributed.store.segments.model() == local.store.segments.model()
    hit = distributed.search("who discovered polonium", k=1).hits[0]
    assert hit.path.endswith("curie.mp4")

    again = distributed.index([clips])  # nothing to do: skipped by the driver, no actor runs
    assert [r.status for r in again.results] == ["unchanged"] * 3
    assert _snapshot(distributed) == b


def test_ray_engine_reports_a_bad_file_in_one_line_and_indexes_the_rest(local_ray, clips, tmp_path):
    import shutil

    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy2(clips / "curie.mp4", folder / "curie.mp4")
    (folder / "broken.mp4").write_bytes(b"\x00not a video" * 100)
    kb = KnowledgeBase(tmp_path / "kb", stages=("shot", "asr", "ocr"), engine="ray", ray_workers=2)
    results = {r.path.rsplit("/", 1)[-1]: r for r in kb.index([folder]).results}
    assert results["curie.mp4"].status == "indexed"
    assert results["broken.mp4"].status == "failed" and results["broken.mp4"].reason
    assert "\n" not in results["broken.mp4"].reason
    status = {v["path"].rsplit("/", 1)[-1]: v["status"] for v in kb.status()["videos"]}
    assert status == {"curie.mp4": "indexed", "broken.mp4": "failed"}
    again = {r.path.rsplit("/", 1)[-1]: r.status for r in kb.index([folder]).results}
    assert again["curie.mp4"] == "unchanged"
    before = {s.segment_id for s in kb.segments()}
    (folder / "curie.mp4").write_bytes(b"\x00damaged now" * 100)  # an indexed file that no longer reads
    damaged = {r.path.rsplit("/", 1)[-1]: r.status for r in kb.index([folder]).results}
    assert damaged["curie.mp4"] == "failed"
    assert {s.segment_id for s in kb.segments()} == before  # as the local path: what was indexed stays


def test_ray_engine_writes_into_an_s3_knowledge_base(local_ray, clips, tmp_path, s3, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bucket = s3.bucket("vrag-ray")
    local = KnowledgeBase(tmp_path / "local", stages=STAGES)
    assert local.index([clips]).ok
    remote = KnowledgeBase(f"s3://{bucket}/kb", stages=STAGES, engine="ray", ray_workers=2,
                           storage_options=s3.options)
    report = remote.index([clips])
    assert report.ok and sorted(r.status for r in report.results) == ["indexed"] * 3
    a, b = _snapshot(local), _snapshot(remote)
    assert a.pop("thumbs") and not b.pop("thumbs")  # none in the driver's local work directory...
    assert s3.keys(bucket, "kb/thumbs/") == [f"kb/{t}" for t in _snapshot(local)["thumbs"]]  # ...all in the bucket
    for key in a:
        assert a[key] == b[key], key
    assert [r.status for r in remote.index([clips]).results] == ["unchanged"] * 3
