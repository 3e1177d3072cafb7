"""A knowledge base on object storage (``--db s3://bucket/kb``), against a local S3 server (moto).

It must hold what a local knowledge base holds (records, graph, thumbnails in the bucket), skip
unchanged files, remove cleanly, read its thumbnails back (``reembed``, the UI), and fail in one
line when the bucket or the options are wrong.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from vrag import KnowledgeBase
from vrag.errors import StoreError
from vrag.kb_files import KBFiles, parse_storage_options
from support.synth import Slide, make_lecture

STAGES = ("shot", "asr", "ocr", "frame", "graph")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s3clips")
    for name, title, narration in [
        ("curie", "Marie Curie in Paris", "Marie Curie discovered polonium in Paris in eighteen ninety eight."),
        ("lovelace", "Ada Lovelace", "Ada Lovelace wrote the first program for the Analytical Engine."),
    ]:
        make_lecture([Slide(title=title, bullets=[f"About {name}"], narration=narration)], folder / f"{name}.mp4")
    return folder


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch, tmp_path):
    """The local work directory of an object-store knowledge base lives under XDG_CACHE_HOME."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _snapshot(kb):
    entities = kb.store.graph.entities(["entity_id", "name", "type", "provenance"])
    relations = kb.store.graph.relations()
    return {
        "segments": sorted((s.segment_id, s.modality, s.text, s.start, s.end) for s in kb.segments()),
        "frames": sorted((s.segment_id, s.meta.get("thumb")) for s in kb.store.frames.read()),
        "videos": sorted((v["path"], v["video_id"], v["status"], json.dumps(v["counts"], sort_keys=True))
                         for v in kb.status()["videos"]),
        "entities": sorted((e["entity_id"], e["name"], e["type"], e["provenance"]) for e in entities),
        "relations": sorted((r["source"], r["target"], r["type"], r["weight"]) for r in relations),
    }


def test_s3_knowledge_base_holds_what_a_local_one_holds(s3, clips, tmp_path):
    bucket = s3.bucket("vrag-same")
    local = KnowledgeBase(tmp_path / "local", stages=STAGES)
    remote = KnowledgeBase(f"s3://{bucket}/team/kb", stages=STAGES, storage_options=s3.options)
    assert local.index([clips]).ok
    report = remote.index([clips])
    assert report.ok and sorted(r.status for r in report.results) == ["indexed", "indexed"]

    a, b = _snapshot(local), _snapshot(remote)
    assert a["segments"] and a["entities"] and a["frames"]
    for key in a:
        assert a[key] == b[key], key
    # the thumbnails are in the bucket, byte for byte the local ones
    local_thumbs = sorted(p.relative_to(local.store.path).as_posix() for p in (local.store.path / "thumbs").rglob("*.jpg"))
    assert local_thumbs and s3.keys(bucket, "team/kb/thumbs/") == [f"team/kb/{t}" for t in local_thumbs]
    assert remote.store.files.read(local_thumbs[0]) == (local.store.path / local_thumbs[0]).read_bytes()
    # nothing is left behind in the local work directory but the same-machine lock
    work = remote.store.path
    assert not [p for p in work.rglob("*") if p.is_file() and p.name != ".vrag-write.lock"]

    assert remote.status()["db"] == f"s3://{bucket}/team/kb"
    hit = remote.search("who discovered polonium", k=1).to_json()["hits"][0]
    assert hit["path"].endswith("curie.mp4") and hit == local.search("who discovered polonium", k=1).to_json()["hits"][0]
    question = "who wrote the first program for the Analytical Engine?"
    answer = remote.ask(question)
    assert answer.found and answer.answer.text == local.ask(question).answer.text
    assert any(c["path"].endswith("lovelace.mp4") for c in answer.citations)

    again = KnowledgeBase(f"s3://{bucket}/team/kb", stages=STAGES, storage_options=s3.options).index([clips])
    assert [r.status for r in again.results] == ["unchanged", "unchanged"]

    # reembed reads every keyframe thumbnail back from the bucket: the same vectors as from local files
    assert remote.reembed(force=True)["frames"] == local.reembed(force=True)["frames"] == len(a["frames"])
    vectors = [{s.segment_id: np.array(s.vector) for s in kb.store.frames.read()} for kb in (local, remote)]
    assert vectors[0].keys() == vectors[1].keys()
    assert all(np.allclose(vectors[0][k], vectors[1][k], atol=1e-5) for k in vectors[0])

    curie = next(v["video_id"] for v in remote.status()["videos"] if v["path"].endswith("curie.mp4"))
    remote.remove([clips / "curie.mp4"])
    assert not s3.keys(bucket, f"team/kb/thumbs/{curie}/")
    assert s3.keys(bucket, "team/kb/thumbs/")  # the other video's stay
    assert all(s.video_id != curie for s in remote.segments())


def test_a_changed_video_replaces_its_thumbnails_in_the_bucket(s3, tmp_path):
    bucket = s3.bucket("vrag-changed")
    video = tmp_path / "talk.mp4"
    make_lecture([Slide(title="First Title", bullets=["one"]), Slide(title="Second Title", bullets=["two"])],
                 video, size=(640, 360), with_audio=False)
    kb = KnowledgeBase(f"s3://{bucket}/kb", stages=("shot", "frame"), storage_options=s3.options)
    assert kb.index([video]).ok
    old = s3.keys(bucket, "kb/thumbs/")
    make_lecture([Slide(title="Only Slide", bullets=["three"])], video, size=(640, 360), with_audio=False)
    assert kb.index([video]).ok
    (row,) = kb.status()["videos"]
    new = s3.keys(bucket, "kb/thumbs/")
    assert new and all(f"/thumbs/{row['video_id']}/" in k for k in new)  # the old content's are gone
    assert not set(old) & set(new)
    names = sorted(s.meta["thumb"] for s in kb.store.frames.read())
    assert [f"kb/{n}" for n in names] == new


def test_cli_on_s3_with_the_standard_aws_environment(s3, clips, tmp_path):
    bucket = s3.bucket("vrag-cli")
    env = {**__import__("os").environ, **s3.env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    db = f"s3://{bucket}/kb"

    def vrag(*args):
        return subprocess.run([sys.executable, "-m", "vrag", *args], capture_output=True, text=True, env=env,
                              timeout=300)

    out = vrag("index", str(clips / "curie.mp4"), "--db", db, "--only", "shots,asr", "-q")
    assert out.returncode == 0, out.stderr
    assert "1 indexed, 0 failed" in out.stdout
    status = json.loads(vrag("status", "--db", db, "--json").stdout)
    assert status["db"] == db and status["videos"][0]["status"] == "indexed"
    found = json.loads(vrag("search", "polonium", "--db", db, "--json", "-k", "1").stdout)
    assert found["hits"][0]["path"].endswith("curie.mp4")

    missing = vrag("status", "--db", "s3://no-such-bucket/kb")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("vrag: error: s3://no-such-bucket/kb: cannot open knowledge base: NoSuchBucket")
    bad = vrag("status", "--db", db, "--set", "storage_options=allow_http")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "'allow_http' is not key=value" in bad.stderr


def test_thumbnail_files_on_s3_refuse_paths_outside_the_thumbnails(s3):
    bucket = s3.bucket("vrag-files")
    files = KBFiles(f"s3://{bucket}/kb", parse_storage_options(s3.options))
    files.replace_thumbs("abc", {"000001000.jpg": b"one", "000002000.jpg": b"two"})
    assert files.read("thumbs/abc/000001000.jpg") == b"one"
    files.replace_thumbs("abc", {"000002000.jpg": b"TWO"})
    assert s3.keys(bucket) == ["kb/thumbs/abc/000002000.jpg"]
    for bad in ("../secret.jpg", "thumbs/../../other/kb/x.jpg", "/etc/passwd", "videos.lance/data/x.jpg", ""):
        with pytest.raises(StoreError, match="not a thumbnail path"):
            files.read(bad)
    with pytest.raises(StoreError, match="cannot read thumbs/abc/missing.jpg"):
        files.read("thumbs/abc/missing.jpg")
    files.delete_video("abc")
    files.delete_video("never-there")
    assert s3.keys(bucket) == []

    from vrag.ui.media import MediaAccessError, MediaGuard

    files.replace_thumbs("abc", {"000001000.jpg": b"\xff\xd8jpeg"})
    guard = MediaGuard([], files.local_dir, kb_files=files)
    assert guard.thumb("thumbs/abc/000001000.jpg") == b"\xff\xd8jpeg"
    for bad in ("thumbs/../kb/x.jpg", "thumbs/abc/notes.txt", "thumbs/abc/gone.jpg"):
        with pytest.raises(MediaAccessError):
            guard.thumb(bad)


def _two_machines(db, env, options, clips, tmp_path):
    """Two `vrag index` runs with their own local work directories (two machines), one video each,
    into ``db`` at once; then the result must equal one local run of both videos."""
    import os

    from vrag.graph_store import needs_rebuild

    stages = "shots,asr,ocr,graph"
    machines = []
    for n, clip in enumerate(("curie.mp4", "lovelace.mp4")):
        machine = {**os.environ, **env, "XDG_CACHE_HOME": str(tmp_path / f"machine{n}")}
        machines.append(subprocess.Popen([sys.executable, "-m", "vrag", "index", str(clips / clip), "--db", db,
                                          "--only", stages, "-q"], env=machine, text=True,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for proc in machines:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert "1 indexed, 0 failed" in out

    shared = KnowledgeBase(db, storage_options=options, stages=tuple(stages.replace("shots", "shot").split(",")))
    alone = KnowledgeBase(tmp_path / "alone", stages=shared.config.stages)
    assert alone.index([clips]).ok
    a, b = _snapshot(alone), _snapshot(shared)
    for key in a:
        assert a[key] == b[key], key
    assert not needs_rebuild(shared.store, float(shared.config.graph_merge_similarity),
                             shared.store.segments.model()[0])
    assert not shared.store.indexes_behind()


def test_two_machines_indexing_into_one_bucket_end_with_one_consistent_knowledge_base(s3, clips, tmp_path):
    """Lance's conditional-put commits keep both runs' records, conflicting index builds and upserts
    are retried, and the graph is rebuilt until it covers every extraction."""
    _two_machines(f"s3://{s3.bucket('vrag-two-writers')}/kb", s3.env, s3.options, clips, tmp_path)


def test_s3_with_a_dynamodb_commit_store(s3, clips, tmp_path):
    """``s3+ddb://bucket/kb?ddbTableName=T``: Lance commits through a DynamoDB table (for S3-compatible
    stores without conditional writes); vrag's thumbnails still go to the bucket."""
    bucket = s3.bucket("vrag-ddb")
    s3.client_for("dynamodb").create_table(
        TableName="vrag-commits", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "base_uri", "KeyType": "HASH"}, {"AttributeName": "version", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "base_uri", "AttributeType": "S"},
                              {"AttributeName": "version", "AttributeType": "N"}])
    kb = KnowledgeBase(f"s3+ddb://{bucket}/kb?ddbTableName=vrag-commits", stages=("shot", "asr", "frame"),
                       storage_options=f"{s3.options},dynamodb_endpoint={s3.endpoint}")
    assert kb.index([clips / "curie.mp4"]).ok
    assert kb.search("polonium", k=1).hits[0].path.endswith("curie.mp4")
    commits = s3.client_for("dynamodb").scan(TableName="vrag-commits")["Items"]
    assert {item["base_uri"]["S"].rsplit("/", 1)[-1] for item in commits} >= {"segments.lance", "videos.lance"}
    assert s3.keys(bucket, "kb/thumbs/")
    assert [r.status for r in kb.index([clips / "curie.mp4"]).results] == ["unchanged"]


@pytest.mark.azure
def test_azure_blob_knowledge_base_on_azurite(azurite, clips, tmp_path, monkeypatch):
    """``az://container/kb`` against Azurite (``make test-azure``): records, thumbnails, reruns, removal."""
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", azurite)  # where object_store's emulator mode looks
    options = "azure_storage_use_emulator=true,allow_http=true"
    files = KBFiles("az://vrag/kb", parse_storage_options(options))
    files.fs.create_dir("vrag")  # the container
    local = KnowledgeBase(tmp_path / "local", stages=("shot", "asr", "ocr", "frame", "graph"))
    remote = KnowledgeBase("az://vrag/kb", stages=local.config.stages, storage_options=options)
    assert local.index([clips]).ok and remote.index([clips]).ok
    a, b = _snapshot(local), _snapshot(remote)
    for key in a:
        assert a[key] == b[key], key
    thumbs = [rel for _id, rel in a["frames"]]
    assert thumbs and remote.store.files.read(thumbs[0]) == (local.store.path / thumbs[0]).read_bytes()
    assert [r.status for r in remote.index([clips]).results] == ["unchanged", "unchanged"]
    remote.remove([clips / "curie.mp4"])
    left = {s.video_id for s in remote.segments()}
    assert len(left) == 1
    gone = [rel for rel in thumbs if rel.split("/")[1] not in left]
    with pytest.raises(StoreError):
        remote.store.files.read(gone[0])


@pytest.mark.azure
def test_two_machines_indexing_into_one_azure_container(azurite, clips, tmp_path, monkeypatch):
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", azurite)
    options = "azure_storage_use_emulator=true,allow_http=true"
    KBFiles("az://two/kb", parse_storage_options(options)).fs.create_dir("two")
    env = {"AZURITE_BLOB_STORAGE_URL": azurite, "VRAG_STORAGE_OPTIONS": options}
    _two_machines("az://two/kb", env, options, clips, tmp_path)


def test_losing_the_bucket_mid_run_stops_in_one_line_and_keeps_what_was_indexed(clips, tmp_path):
    """The object store goes away while the second video is being indexed: the run stops with one
    line naming the knowledge base and the failed request; once it is back, the rerun keeps the
    first video and indexes the second."""
    import logging

    from moto.server import ThreadedMotoServer

    from vrag.errors import StoreUnreachableError, StoreWriteError

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    import boto3

    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t",
                 region_name="us-east-1").create_bucket(Bucket="vrag-lost")
    options = f"aws_endpoint={endpoint},aws_access_key_id=t,aws_secret_access_key=t,aws_region=us-east-1,allow_http=true"
    stages = ("shot", "asr", "frame")
    first, second = clips / "curie.mp4", clips / "lovelace.mp4"
    kb = KnowledgeBase("s3://vrag-lost/kb", stages=stages, storage_options=options)
    assert kb.index([first]).ok
    kept = sorted(s.segment_id for s in kb.segments())

    unplugged = []

    def pull_the_plug(event):
        if event.path.endswith("lovelace.mp4") and event.stage == "embed" and not unplugged:
            server.stop()
            unplugged.append(True)

    try:
        with pytest.raises((StoreWriteError, StoreUnreachableError)) as stopped:  # the run stops at once
            kb.index([first, second], progress=pull_the_plug)
        message = str(stopped.value)
        assert "\n" not in message and message.startswith("s3://vrag-lost/kb: cannot ")
        assert f"http://{host}:{port} failed" in message
        with pytest.raises(StoreError, match="cannot open knowledge base"):  # searching says so too
            kb.search("polonium")
    finally:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)  # back, same data
        server.start()
    try:
        again = KnowledgeBase("s3://vrag-lost/kb", stages=stages, storage_options=options)
        results = {r.path.rsplit("/", 1)[-1]: r.status for r in again.index([first, second]).results}
        assert results == {"curie.mp4": "unchanged", "lovelace.mp4": "indexed"}
        curie = next(v["video_id"] for v in again.status()["videos"] if v["path"].endswith("curie.mp4"))
        assert sorted(s.segment_id for s in again.segments() if s.video_id == curie) == kept
    finally:
        server.stop()


def test_a_run_killed_mid_way_on_s3_is_completed_by_the_next_one(s3, clips, tmp_path):
    """`kill -9` once the first video's thumbnails are in the bucket (the second is being indexed):
    the rerun gives exactly what a clean run gives, thumbnails included."""
    import os
    import signal
    import time

    bucket = s3.bucket("vrag-killed")
    db = f"s3://{bucket}/kb"
    env = {**os.environ, **s3.env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "vrag", "index", str(clips), "--db", db, "--only", "shots,asr,ocr,frames,graph", "-q"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not s3.keys(bucket, "kb/thumbs/") and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr

    stages = ("shot", "asr", "ocr", "frame", "graph")
    clean = KnowledgeBase(tmp_path / "clean", stages=stages)
    assert clean.index([clips]).ok
    killed = KnowledgeBase(db, stages=stages, storage_options=s3.options)
    a, b = _snapshot(clean), _snapshot(killed)
    for key in a:
        assert a[key] == b[key], key
    assert s3.keys(bucket, "kb/thumbs/") == sorted(f"kb/{rel}" for _id, rel in a["frames"])
    assert not killed.store.indexes_behind()


def test_object_store_failure_paths_are_one_line(s3, monkeypatch):
    """Thumbnails that cannot be written, Azure without an account, and a commit that keeps losing
    to other writers each stop with one line naming the knowledge base and the reason."""
    from vrag.errors import ConfigError, StoreWriteError
    from vrag.store import COMMIT_ATTEMPTS, Store

    files = KBFiles("s3://no-such-bucket/kb", parse_storage_options(s3.options))
    with pytest.raises(StoreWriteError) as failed:
        files.replace_thumbs("abc", {"000001000.jpg": b"x"})
    assert "\n" not in str(failed.value)
    assert str(failed.value).startswith("s3://no-such-bucket/kb: cannot write the thumbnails of video abc: ")

    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME", raising=False)
    with pytest.raises(ConfigError, match=r"^az:// knowledge base: set azure_storage_account_name"):
        KBFiles("az://container/kb", {}).fs  # noqa: B018

    store = Store(f"s3://{s3.bucket('vrag-conflicts')}/kb", parse_storage_options(s3.options))
    monkeypatch.setattr("vrag.store.connection.time.sleep", lambda _s: None)
    calls = []

    def always_loses():
        calls.append(1)
        raise RuntimeError("lance error: Retryable commit conflict for version 9: preempted by concurrent transaction")

    with pytest.raises(StoreWriteError) as lost:
        store.retry_conflicts("indexing the text records", always_loses)
    assert len(calls) == COMMIT_ATTEMPTS and "\n" not in str(lost.value)
    assert str(lost.value) == (f"{store.uri}: indexing the text records kept conflicting with another writer's "
                               f"commits ({COMMIT_ATTEMPTS} attempts); run the same command again")

    def other_error():
        calls.append(1)
        raise RuntimeError("something else")

    calls.clear()
    with pytest.raises(RuntimeError, match="something else"):
        store.retry_conflicts("x", other_error)
    assert len(calls) == 1  # only commit conflicts are retried
