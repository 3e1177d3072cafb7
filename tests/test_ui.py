"""The Streamlit UI on a small real knowledge base (a generated 3-slide lecture).

The AppTest tests run the app headless in-process and are part of the default suite. The one
real-browser test (``-m ui``, ``make test-ui``) starts ``vrag ui`` and drives Debian's Chromium
through selenium; it skips when chromium/chromedriver are not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the UI needs streamlit: pip install 'vrag[ui]'")

from streamlit.testing.v1 import AppTest  # noqa: E402

from vrag import KnowledgeBase  # noqa: E402
from support.synth import make_tone  # noqa: E402
from vrag.timecode import mmss  # noqa: E402
from vrag.ui.media import MediaAccessError, MediaGuard  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
STAGES = "shot,asr,ocr,frame,graph"
QUESTION = "how much thickness does the glacier lose"


@pytest.fixture(scope="module")
def ui_kb(lecture, tmp_path_factory):
    """The lecture indexed once for this module (speech, screen text, keyframes, graph)."""
    path, spans = lecture
    kb = KnowledgeBase(tmp_path_factory.mktemp("ui") / "kb", stages=tuple(STAGES.split(",")))
    report = kb.index([path])
    assert report.ok, [(r.path, r.reason) for r in report.results]
    return kb, spans


def _app(monkeypatch, db, **env) -> AppTest:
    monkeypatch.setenv("VRAG_DB", str(db))
    monkeypatch.setenv("VRAG_STAGES", env.pop("stages", STAGES))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in ("info", "warning", "error", "success", "header", "subheader") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def _videos(at):
    return at.get("video")


def _wait_job(at, timeout=120.0):
    """Re-run the page until the background job's result is shown."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        shown = [e.value for kind in ("success", "warning", "error") for e in getattr(at, kind)]
        if any(text.startswith(("Indexing ", "Removing ")) and " finished " in text or " failed: " in text
               for text in shown):
            return
        time.sleep(0.3)
    raise AssertionError("the index job did not finish: " + _texts(at))


# -- empty states -------------------------------------------------------------------------
def test_no_db_says_how_to_index(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path / "none")
    info = " ".join(i.value for i in at.info)
    assert "No knowledge base at" in info and f"vrag index VIDEOS_FOLDER --db {tmp_path / 'none'}" in info
    at.button(key="goto_index").click().run()
    assert at.sidebar.radio(key="page").value == "Index"
    assert any("Nothing indexed" in i.value for i in at.info)
    assert at.text_input(key="add_path") is not None
    assert not (tmp_path / "none").exists()  # looking does not create a knowledge base


# -- ask / search -------------------------------------------------------------------------
def test_ask_shows_answer_citations_route_and_plays_the_cited_moment(monkeypatch, ui_kb):
    kb, spans = ui_kb
    at = _app(monkeypatch, kb.store.path)
    at.text_input(key="query").input(QUESTION).run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    text = _texts(at)
    assert "Route: **" in text and ("chosen by the router" in text)
    assert "escalated" in text  # escalated or not, it is said
    answer = next(m.value for m in at.markdown if "glacier" in m.value.lower() and "@" in m.value)
    assert "lecture one.mp4" in answer
    glacier = spans[1]
    citation = next(m.value for m in at.markdown if m.value.startswith("[1] "))
    assert "lecture one.mp4" in citation
    (video,) = _videos(at)
    start = video.proto.start_time
    assert glacier.start - 1 <= start <= glacier.end  # the player starts at the cited moment
    assert video.proto.url.startswith("/mock/media/") or "/media/" in video.proto.url
    assert at.button(key="cite-0").label == f"▶ {mmss(start)}"
    # hits: grouped per video, a timeline strip, each with its start time, modality and reason
    assert any("lecture one.mp4** · " in m.value and "moment(s)" in m.value for m in at.markdown)
    assert any('class="vrag-timeline"' in m.value for m in at.markdown)
    assert any("<mark>glacier</mark>" in m.value.lower() for m in at.markdown)
    assert any(c.value.startswith("why: ") for c in at.caption)
    plays = [b for b in at.button if (b.key or "").startswith("play-")]
    assert len(plays) >= 3 and all(b.label.startswith("▶ ") for b in plays)
    assert at.get("imgs") or at.image  # keyframe thumbnails beside the hits


def test_search_forced_mode_filters_and_play_button(monkeypatch, ui_kb):
    kb, spans = ui_kb
    at = _app(monkeypatch, kb.store.path)
    at.radio(key="action").set_value("Search")
    at.sidebar.radio(key="mode").set_value("hybrid")
    at.text_input(key="query").input("geothermal power heats homes").run()
    assert not at.error, [e.value for e in at.error]
    assert "Route: **hybrid** (forced)" in _texts(at)
    assert not any(m.value.startswith("[1] ") for m in at.markdown)  # search: no answer block

    # play another hit: the player jumps to its start
    plays = [b for b in at.button if (b.key or "").startswith("play-")]
    target = plays[-1]
    target.click().run()
    (video,) = _videos(at)
    assert mmss(video.proto.start_time) == target.label.removeprefix("▶ ")

    # filters: only on-screen text, only after 00:10
    at.sidebar.multiselect(key="f_modalities").set_value(["ocr"])
    at.sidebar.text_input(key="f_from").input("00:10").run()
    headers = [m.value for m in at.markdown if re.match(r"#\d+ ", m.value)]
    assert headers and all("on-screen text" in h for h in headers)
    ends = [re.search(r"\*\*(\d\d:\d\d)–(\d\d:\d\d)\*\*", h).group(2) for h in headers]
    assert all(end >= "00:10" for end in ends)  # evidence that reaches past 00:10
    assert "Geothermal" in _texts(at)

    at.sidebar.text_input(key="f_from").input("ten").run()
    assert any("not a time" in e.value for e in at.sidebar.error)


def test_ui_on_an_s3_knowledge_base_shows_hits_with_thumbnails_from_the_bucket(monkeypatch, lecture, tmp_path, s3):
    path, _spans = lecture
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    db = f"s3://{s3.bucket('vrag-ui')}/kb"
    kb = KnowledgeBase(db, stages=("shot", "asr", "ocr", "frame"), storage_options=s3.options)
    assert kb.index([path]).ok
    at = _app(monkeypatch, db, stages="shot,asr,ocr,frame", VRAG_STORAGE_OPTIONS=s3.options)
    assert f"knowledge base: `{db}`" in _texts(at)
    at.radio(key="action").set_value("Search")
    at.text_input(key="query").input(QUESTION).run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert any("lecture one.mp4** · " in m.value for m in at.markdown)
    assert at.image  # keyframe thumbnails, read from the bucket
    assert not list((tmp_path / "cache").rglob("*.jpg"))  # served from the bucket, not from a local copy


def test_query_mode_and_filters_survive_a_visit_to_another_page(monkeypatch, ui_kb):
    kb, _ = ui_kb
    at = _app(monkeypatch, kb.store.path)
    at.sidebar.radio(key="mode").set_value("hybrid")
    at.sidebar.multiselect(key="f_modalities").set_value(["asr", "ocr"])
    at.text_input(key="query").input(QUESTION).run()
    at.sidebar.radio(key="page").set_value("Index").run()
    at.sidebar.radio(key="page").set_value("Search").run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert at.text_input(key="query").value == QUESTION and at.sidebar.radio(key="mode").value == "hybrid"
    assert at.sidebar.multiselect(key="f_modalities").value == ["asr", "ocr"]
    assert _videos(at) and "Route: **hybrid** (forced)" in _texts(at)


def test_no_results_suggests_another_mode(monkeypatch, ui_kb):
    kb, _ = ui_kb
    at = _app(monkeypatch, kb.store.path)
    at.radio(key="action").set_value("Search")
    at.sidebar.multiselect(key="f_modalities").set_value(["caption"])  # none indexed
    at.text_input(key="query").input("glacier").run()
    assert any("No matches" in w.value for w in at.warning)
    assert {"try-naive", "try-hybrid", "try-graph", "clear-filters"} <= {b.key for b in at.button}
    at.button(key="try-graph").click().run()
    assert at.sidebar.radio(key="mode").value == "graph"
    assert "Route: **graph** (forced)" in _texts(at)
    at.button(key="try-hybrid").click()
    at.button(key="clear-filters").click().run()
    assert at.sidebar.multiselect(key="f_modalities").value == []
    assert _videos(at), _texts(at)  # results again with hybrid and no filter


def test_query_by_image_finds_the_matching_slide(monkeypatch, ui_kb):
    kb, spans = ui_kb
    thumbs = sorted((kb.store.path / "thumbs").rglob("*.jpg"))
    glacier = next(t for t in thumbs if int(t.stem) / 1000 == pytest.approx(spans[1].start, abs=0.5))
    at = _app(monkeypatch, kb.store.path)
    at.file_uploader(key="image").set_value(("slide.jpg", glacier.read_bytes(), "image/jpeg")).run()
    assert not at.error, [e.value for e in at.error]
    assert "image search" in _texts(at)
    (video,) = _videos(at)
    assert video.proto.start_time == int(spans[1].start)


def test_answer_model_not_configured_says_what_to_set(monkeypatch, ui_kb):
    kb, _ = ui_kb
    at = _app(monkeypatch, kb.store.path, VRAG_GENERATOR="llm")
    assert any("llm_model" in w.value for w in at.sidebar.warning)
    at.text_input(key="query").input(QUESTION).run()
    assert any("needs llm_model" in e.value for e in at.error)
    assert any("vrag config" in i.value and "VRAG_" in i.value for i in at.info)
    assert _videos(at) and [b for b in at.button if (b.key or "").startswith("play-")]  # the evidence still shows


# -- graph --------------------------------------------------------------------------------
def test_graph_view_entity_neighbours_and_moments(monkeypatch, ui_kb):
    kb, _ = ui_kb
    at = _app(monkeypatch, kb.store.path)
    at.sidebar.radio(key="page").set_value("Graph").run()
    assert at.selectbox(key="entity").value == "Hawaii"  # most mentioned first
    assert any(m.value.startswith("### Hawaii") for m in at.markdown)
    neighbours = at.dataframe[0].value
    assert "hot spot" in set(neighbours["entity"])
    assert at.get("graphviz_chart")
    found = kb.graph_entity("Hawaii")
    last = len(found["appearances"]) - 1
    at.button(key=f"appear-{last}").click().run()
    (video,) = _videos(at)
    assert video.proto.start_time == int(found["appearances"][last]["start"])
    # a neighbour is one click away
    at.selectbox(key="neighbour").set_value("hot spot")
    at.button(key="go-neighbour").click().run()
    assert at.selectbox(key="entity").value == "hot spot"


# -- index page ---------------------------------------------------------------------------
def test_index_page_lists_videos_with_counts_and_models(monkeypatch, ui_kb):
    kb, _ = ui_kb
    at = _app(monkeypatch, kb.store.path)
    at.sidebar.radio(key="page").set_value("Index").run()
    table = at.dataframe[0].value
    row = table[table["file"] == "lecture one.mp4"].iloc[0]
    assert row["status"] == "indexed" and "asr 3" in row["records"] and "ocr 3" in row["records"]
    assert "1 file(s) indexed" in _texts(at)
    models = at.dataframe[1].value
    assert "faster-whisper" in " ".join(models["model"])


def test_add_a_folder_and_remove_a_file_from_the_ui(monkeypatch, tmp_path):
    folder = tmp_path / "talks"
    folder.mkdir()
    audio = make_tone(folder / "talk.ogg", 6.0, music=False)
    (folder / "talk.srt").write_text("1\n00:00:01,000 --> 00:00:04,000\nAda Lovelace wrote the first program.\n\n",
                                     encoding="utf-8")
    (folder / "notes.txt").write_text("not media")
    db = tmp_path / "kb"
    at = _app(monkeypatch, db, stages="asr")
    at.sidebar.radio(key="page").set_value("Index").run()
    at.text_input(key="add_path").input(str(folder))
    at.button(key="index_btn").click().run()
    _wait_job(at)
    assert at.success and "Indexing finished" in at.success[0].value and "1 indexed" in at.success[0].value, _texts(at)
    table = at.dataframe[1].value  # [0] is the last run, file by file
    assert list(table["file"]) == ["talk.ogg"] and table["kind"].iloc[0] == "audio"

    # search works on what was just indexed, and plays the audio at the subtitle's start
    at.sidebar.radio(key="page").set_value("Search").run()
    at.text_input(key="query").input("who wrote the first program").run()
    (audio_el,) = at.get("audio")
    assert audio_el.proto.start_time == 1

    at.sidebar.radio(key="page").set_value("Index").run()
    at.multiselect(key="manage_videos").select(next(iter(KnowledgeBase(db).status()["videos"]))["video_id"]).run()
    at.button(key="remove_btn").click().run()
    _wait_job(at)
    assert "Removing finished" in at.success[0].value and "1 removed" in at.success[0].value
    assert KnowledgeBase(db).status()["videos"] == [] and audio.exists()  # records gone, the file stays
    assert any("Nothing indexed" in i.value for i in at.info)


def test_index_failures_are_shown_with_their_reasons(monkeypatch, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "broken.mp4").write_bytes(b"this is not a video" * 100)
    at = _app(monkeypatch, tmp_path / "kb", stages="asr")
    at.sidebar.radio(key="page").set_value("Index").run()
    at.text_input(key="add_path").input(str(tmp_path / "missing"))
    at.button(key="index_btn").click().run()
    _wait_job(at)
    assert at.warning and "Indexing finished" in at.warning[0].value and "1 failed" in at.warning[0].value, _texts(at)
    assert "no such file or folder" in " ".join(at.dataframe[0].value["reason"])

    at.text_input(key="add_path").input(str(folder))
    at.button(key="index_btn").click().run()
    _wait_job(at)
    assert at.warning and "1 failed" in at.warning[0].value, _texts(at)
    assert len(at.dataframe) >= 2, _texts(at)
    table = at.dataframe[1].value
    assert list(table["status"]) == ["failed"] and table["problems"].iloc[0] >= 1
    reasons = " ".join(e.value for e in at.error)
    assert "broken.mp4" in reasons and "error:" in reasons  # the stored reason, shown under the table


# -- serving only indexed files -----------------------------------------------------------
def test_media_guard_refuses_crafted_paths(tmp_path):
    videos, outside, db = tmp_path / "videos", tmp_path / "outside", tmp_path / "kb"
    for d in (videos, outside, db / "thumbs" / "v1"):
        d.mkdir(parents=True)
    talk = videos / "talk.mp4"
    talk.write_bytes(b"x")
    secret = outside / "secret.mp4"
    secret.write_bytes(b"x")
    (db / "thumbs" / "v1" / "000001000.jpg").write_bytes(b"x")
    (videos / "link.mp4").symlink_to(secret)
    (videos / "passwd.mp4").symlink_to("/etc/passwd")
    guard = MediaGuard([str(talk)], db)

    assert guard.media(talk) == os.path.realpath(talk)
    assert guard.media(str(videos / ".." / "videos" / "talk.mp4")) == os.path.realpath(talk)
    for bad in ("../../etc/passwd", "/etc/passwd", str(secret), str(videos / "link.mp4"),
                str(videos / "passwd.mp4"), str(videos / "nope.mp4"), str(db / "videos.lance"), ""):
        with pytest.raises(MediaAccessError):
            guard.media(bad)
    # thumbnails: only image files under the knowledge-base directory
    assert guard.thumb("thumbs/v1/000001000.jpg").endswith("000001000.jpg")
    for bad in ("../outside/secret.mp4", "/etc/passwd", "thumbs/../../videos/talk.mp4", "../../../../etc/passwd",
                "videos.lance/data.lance"):
        with pytest.raises(MediaAccessError):
            guard.thumb(bad)
    # a folder indexed from the UI: media files inside it, nothing else, no escape through links
    rooted = MediaGuard([], db, roots=[str(videos)])
    assert rooted.media(talk) == os.path.realpath(talk)
    (videos / "notes.txt").write_text("x")
    for bad in (str(videos / "notes.txt"), str(videos / "link.mp4"), str(videos / "passwd.mp4")):
        with pytest.raises(MediaAccessError):
            rooted.media(bad)
    # an indexed file that has since been deleted
    talk.unlink()
    with pytest.raises(MediaAccessError, match="gone"):
        guard.media(talk)


def test_player_goes_through_the_path_check(monkeypatch, ui_kb):
    kb, _ = ui_kb

    def refuse(self, path):
        raise MediaAccessError(f"refused to serve {path!r}: it is not an indexed video or audio file")

    monkeypatch.setattr(MediaGuard, "media", refuse)
    at = _app(monkeypatch, kb.store.path)
    at.text_input(key="query").input(QUESTION).run()
    assert not _videos(at) and any("refused to serve" in e.value for e in at.error)


# -- the `vrag ui` command ----------------------------------------------------------------
def test_vrag_ui_command_line(monkeypatch, tmp_path, capsys):
    from vrag import cli, cli_ui

    started = []

    class FakePopen:
        def __init__(self, cmd):
            started.append(cmd)

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(cli_ui.subprocess, "Popen", FakePopen)
    assert cli.main(["ui", "--db", str(tmp_path / "kb"), "--port", "8600"]) == 0
    cmd = started[-1]
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith(os.path.join("ui", "app.py"))
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1" and cmd[cmd.index("--server.port") + 1] == "8600"
    assert cmd[cmd.index("--") + 1:] == ["--db", str(tmp_path / "kb")]
    assert "warning" not in capsys.readouterr().err
    assert cli.main(["ui", "--db", "s3://bucket/kb"]) == 0  # a URI is passed on as it is
    assert started[-1][started[-1].index("--") + 1:] == ["--db", "s3://bucket/kb"]

    assert cli.main(["ui", "--host", "0.0.0.0", "--set", "threads=1"]) == 0
    assert started[-1][started[-1].index("--server.address") + 1] == "0.0.0.0"
    assert started[-1][started[-1].index("--") + 1:] == ["--set", "threads=1"]
    assert "vrag: warning: serving on 0.0.0.0" in capsys.readouterr().err


def test_vrag_ui_without_streamlit_says_what_to_install(monkeypatch, capsys):
    from vrag import cli

    monkeypatch.setitem(sys.modules, "streamlit", None)
    assert cli.main(["ui"]) == 1
    assert "pip install 'vrag[ui]'" in capsys.readouterr().err


# -- a real browser -----------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.ui
def test_browser_query_plays_the_hit_at_its_start(ui_kb, tmp_path):
    """`vrag ui` on localhost, driven by headless Chromium: results, a <video> at the hit's start."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver "
                    "(or `make test-ui`)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium: pip install -e '.[dev]'")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    kb, spans = ui_kb
    expected = kb.ask(QUESTION).citations[0]
    port = _free_port()
    env = dict(os.environ, VRAG_STAGES=STAGES, HF_HUB_OFFLINE="1")
    server = subprocess.Popen([sys.executable, "-m", "vrag", "ui", "--db", str(kb.store.path), "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,2000",
                f"--user-data-dir={tempfile.mkdtemp(prefix='vrag-chromium-', dir=tmp_path)}"):
        opts.add_argument(arg)
    browser = None
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(url + "/_stcore/health", server)
        browser = webdriver.Chrome(service=Service(driver), options=opts)
        browser.get(url)
        wait = WebDriverWait(browser, 120)
        box = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "input[aria-label='Question or search']"))
        box.send_keys(QUESTION, Keys.ENTER)
        video = wait.until(lambda b: (b.find_elements(By.TAG_NAME, "video") or [None])[0])
        wait.until(lambda b: "why:" in b.find_element(By.TAG_NAME, "body").text)
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "Answer" in body and "Evidence (" in body and "Route:" in body
        assert body.count("why: ") >= 3  # the result list
        assert video.get_attribute("src").startswith(f"{url}/media/")
        wait.until(lambda b: b.execute_script("return arguments[0].readyState", video) >= 1)
        current = browser.execute_script("return arguments[0].currentTime", video)
        assert current == pytest.approx(int(expected["start"]), abs=0.5)
        assert f"@ {mmss(expected['start'])}–{mmss(expected['end'])}" in body
        out_dir = Path(os.environ.get("TEST_ARTIFACTS_DIR") or tmp_path)  # set it to keep the screenshot
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / "vrag-ui-search.png"
        browser.save_screenshot(str(out))
        print(f"\nscreenshot: {out}")
        assert out.stat().st_size > 10_000
    finally:
        if browser is not None:
            browser.quit()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_http(url: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"vrag ui exited: {server.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"vrag ui did not answer on {url}")


def test_the_route_line_says_when_the_question_named_its_videos_or_had_parts():
    from vrag.ui.format import route_line

    named = route_line({"route": "hybrid", "confidence": 0.9, "routing": {
        "mode": "auto", "reason": "learned: hybrid p=0.90; rule: names the screencast -> 1 video(s)", "videos": ["v1"]}})
    assert "searched only in the screencast (1 video(s)) the question names" in named
    parts = route_line({"route": "naive", "confidence": 0.8, "routing": {"mode": "auto", "parts": ["A?", "B?"]}})
    assert "asked in 2 parts" in parts and "searched only" not in parts
