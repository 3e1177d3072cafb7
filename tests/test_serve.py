"""``vrag serve``: the HTTP API on a real indexed lecture (FastAPI's TestClient, and a live uvicorn for
the concurrency test): the CLI's JSON, one-line JSON errors with 4xx, range requests on the media,
tokens on non-local addresses, and searches answered while a background index job runs."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from vrag.cli import main
from support.services import free_port, index_lecture
from support.synth import Slide, make_lecture

pytest.importorskip("fastapi", reason="the HTTP API tests need the serve extra (pip install 'vrag[serve]')")
from fastapi.testclient import TestClient  # noqa: E402

from vrag.serve import create_app  # noqa: E402


@pytest.fixture(scope="module")
def kb(tmp_path_factory, lecture):
    return index_lecture(lecture, tmp_path_factory.mktemp("serve") / "kb")


@pytest.fixture(scope="module")
def client(kb):
    with TestClient(create_app(kb)) as c:
        yield c


def _one_line_error(resp, status: int) -> str:
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and body["error"], body
    return body["error"]


def test_status_search_and_ask_are_the_cli_json(client, kb, capsys):
    assert client.get("/status").json() == kb.status()
    assert main(["search", "glacier thickness", "-k", "3", "--json", "--db", str(kb.store.path)]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert client.get("/search", params={"q": "glacier thickness", "k": 3}).json() == cli
    ask = client.post("/ask", json={"question": "How much thickness does the largest glacier lose every year?"})
    assert ask.status_code == 200 and ask.json()["found"]
    assert ask.json()["citations"][0]["path"].endswith("lecture one.mp4")


def test_search_filters_as_query_parameters(client):
    hits = client.get("/search", params={"q": "glacier", "modality": "ocr", "from": "0:00", "to": "0:06"}).json()["hits"]
    assert hits and all(h["modality"] == "ocr" and h["start"] <= 6.0 for h in hits)
    video = client.get("/videos").json()["videos"][0]["video_id"]
    assert client.get("/search", params={"q": "glacier", "video": video}).json()["hits"]


def test_transcript_of_a_range(client, kb):
    video = kb.videos()[0]["video_id"]
    t = client.get(f"/videos/{video}/transcript", params={"from": "0:00", "to": "5"}).json()
    assert t["video_id"] == video and {s["modality"] for s in t["segments"]} == {"asr", "ocr"}
    text = " ".join(s["text"] for s in t["segments"]).lower()
    assert "volcanoes of hawaii" in text and "geothermal" not in text
    speech = client.get(f"/videos/{video}/transcript", params={"modality": "asr"}).json()["segments"]
    assert speech and {s["modality"] for s in speech} == {"asr"}
    assert "no video indexed" in _one_line_error(client.get("/videos/0123abcd/transcript"), 404)


@pytest.mark.parametrize("method, url, kwargs, status, message", [
    ("get", "/search", {"params": {"q": "glacier", "k": 0}}, 400, "k=0: ask for at least one hit"),
    ("get", "/search", {"params": {"q": "glacier", "k": "lots"}}, 422, "k: Input should be a valid integer"),
    ("get", "/search", {"params": {"q": "glacier", "mode": "psychic"}}, 400, "mode 'psychic': valid:"),
    ("get", "/search", {"params": {"q": "glacier", "from": "half past"}}, 400, "from: not a time: 'half past'"),
    ("get", "/search", {"params": {"q": "glacier", "modality": "sound"}}, 400, "modality 'sound': valid:"),
    ("get", "/search", {"params": {"q": "glacier", "video": "nope.mp4"}}, 400, "video filter 'nope.mp4'"),
    ("get", "/search", {"params": {}}, 400, "empty query"),
    ("post", "/ask", {"json": {"question": "why", "colour": "red"}}, 422, "colour: Extra inputs are not permitted"),
    ("post", "/ask", {"json": {}}, 422, "question: Field required"),
    ("post", "/ask", {"content": b"not json", "headers": {"content-type": "application/json"}}, 422, ""),
    ("post", "/index", {"json": {"paths": []}}, 422, "paths: List should have at least 1 item"),
    ("post", "/index", {"json": {"paths": ["/no/such/folder"]}}, 400, "/no/such/folder: no such file or folder"),
    ("get", "/jobs/123", {}, 404, "no index job '123'"),
    ("get", "/nowhere", {}, 404, "Not Found"),
])
def test_bad_parameters_get_a_4xx_with_a_one_line_json_error(client, method, url, kwargs, status, message):
    assert _one_line_error(getattr(client, method)(url, **kwargs), status).startswith(message)


def test_media_answers_range_requests_for_indexed_files_only(client, kb, lecture):
    src, _ = lecture
    data = src.read_bytes()
    video = kb.videos()[0]["video_id"]
    whole = client.get(f"/media/{video}")
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"/media/{video}", headers={"Range": "bytes=100-1123"})
    assert part.status_code == 206 and part.content == data[100:1124]
    assert part.headers["content-range"] == f"bytes 100-1123/{len(data)}"
    tail = client.get(f"/media/{video}", headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == data[-500:]
    assert client.get(f"/media/{video}", headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416
    _one_line_error(client.get("/media/0123abcd"), 404)
    _one_line_error(client.get("/media/lecture one.mp4"), 404)  # ids only: no serving by name or path
    _one_line_error(client.get("/media/..%2F..%2Fetc%2Fpasswd"), 404)


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/search", "/ask", "/status", "/videos", "/videos/{video_id}/transcript", "/index", "/jobs/{job_id}",
            "/media/{video_id}"} <= set(paths)
    assert {p["name"] for p in paths["/search"]["get"]["parameters"]} >= {"q", "k", "mode", "video", "from", "to"}


def test_a_token_guards_every_endpoint(kb):
    with TestClient(create_app(kb, token="s3cret")) as c:
        assert "token" in _one_line_error(c.get("/status"), 401)
        assert c.get("/status").headers["www-authenticate"] == "Bearer"
        _one_line_error(c.get("/status", headers={"Authorization": "Bearer wrong"}), 401)
        _one_line_error(c.get("/openapi.json", headers={"Authorization": "Basic s3cret"}), 401)
        assert c.get("/status", headers={"Authorization": "Bearer s3cret"}).json() == kb.status()


def test_a_network_address_without_a_token_is_refused(kb, capsys, monkeypatch):
    monkeypatch.delenv("VRAG_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--db", str(kb.store.path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "vrag: error: --host 0.0.0.0: vrag serve on a non-local address needs a token (--token TOKEN or "
        "VRAG_TOKEN); clients then send `Authorization: Bearer TOKEN`"]
    assert main(["serve", "--port", "70000", "--db", str(kb.store.path)]) == 1
    assert "--port 70000: use a port between 1 and 65535" in capsys.readouterr().err


@pytest.fixture
def live(kb):
    """The app on a live uvicorn (its own threads), at a free port."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(kb), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def test_searches_are_answered_while_an_index_job_runs(live, tmp_path):
    import httpx

    folder = tmp_path / "new"
    folder.mkdir()
    for topic in ("rivers", "deserts"):
        make_lecture([Slide(title=f"All about {topic}", bullets=[f"{topic.title()} cover the planet"],
                            narration=f"This short clip is about {topic} and how they shape the land.")],
                     folder / f"{topic}.mp4")
    with httpx.Client(base_url=live, timeout=120) as http:
        http.get("/search", params={"q": "warm up the models"}).raise_for_status()
        job = http.post("/index", json={"paths": [str(folder)]})
        assert job.status_code == 202, job.text
        job_id = job.json()["id"]
        assert "still running" in _one_line_error(http.post("/index", json={"paths": [str(folder)]}), 409)

        def search(_: int) -> tuple[int, str, bool]:
            r = http.get("/search", params={"q": "glacier thickness", "k": 3})
            running = http.get(f"/jobs/{job_id}").json()["status"] in ("queued", "running")
            return r.status_code, r.json()["hits"][0]["text"], running

        answered_while_running, stages = 0, set()
        with ThreadPoolExecutor(4) as pool:
            while True:
                state = http.get(f"/jobs/{job_id}").json()
                if state["progress"]:
                    stages.add(state["progress"]["stage"])
                if state["status"] not in ("queued", "running"):
                    break
                for status, text, running in pool.map(search, range(4)):
                    assert status == 200 and "glacier" in text.lower()
                    answered_while_running += running
        assert state["status"] == "done", state
        assert sorted(f["status"] for f in state["files"]) == ["indexed", "indexed"]
        assert answered_while_running >= 4, "no search was answered while the job ran"
        assert stages & {"hash", "probe", "frames", "ocr", "asr", "embed", "write"}, stages  # progress was readable
        paths = [v["path"] for v in http.get("/status").json()["videos"]]
        assert len(paths) == 3 and any(p.endswith("rivers.mp4") for p in paths)
        hits = http.get("/search", params={"q": "deserts shape the land", "k": 1}).json()["hits"]
        assert hits[0]["path"].endswith("deserts.mp4")
