"""Shared fixtures: offline model hub, temp knowledge bases, generated media, the shared eval set."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
#: The suite's synthetic espeak-ng media are transcribed with the fast packaged tiny.en (their known words,
#: goldens and the CI time budget); the shipped default, Whisper base, is what the real-recording tests use:
#: ``eval_kb`` below and tests/test_asr_real.py set it explicitly (DEFAULT_ASR_MODEL).
os.environ["VRAG_ASR_MODEL"] = "tiny.en"
DEFAULT_ASR_MODEL = "base"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

EVAL_DIR = Path(os.environ.get("VRAG_EVAL_DIR", Path(__file__).resolve().parents[2] / "shared" / "eval"))


@pytest.fixture(autouse=True)
def _no_error_logs(caplog):
    """A test fails if vrag logs at ERROR, unless it says it expects that (``caplog.expect_errors``)."""
    caplog.set_level(logging.WARNING, logger="vrag")
    yield
    if getattr(caplog, "expect_errors", False):
        return
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("vrag")]
    assert not errors, f"unexpected error logs: {[r.getMessage() for r in errors]}"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No VRAG_* settings or vrag.toml from the developer's shell leak into tests."""
    for key in list(os.environ):
        if key.startswith("VRAG_") and key not in ("VRAG_EVAL_DIR", "VRAG_ASR_MODEL"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


class S3Server:
    """A local S3 server (moto) standing in for AWS in object-storage tests."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.options = (f"aws_endpoint={endpoint},aws_access_key_id=test,aws_secret_access_key=test,"
                        "aws_region=us-east-1,allow_http=true")
        self.env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                    "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}

    def client(self):
        return self.client_for("s3")

    def client_for(self, service: str):
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, aws_access_key_id="test",
                            aws_secret_access_key="test", region_name="us-east-1")

    def bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        # keys ending in "/" are the empty directory markers pyarrow leaves when a folder empties
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []) if not o["Key"].endswith("/"))


@pytest.fixture(scope="session")
def s3():
    """A moto S3 server on a free local port (the ``moto[s3]``, ``flask`` and ``flask-cors`` test extras)."""
    server_mod = pytest.importorskip("moto.server", reason="object-storage tests need moto (pip install -e '.[dev]')")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield S3Server(f"http://{host}:{port}")
    server.stop()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    """A local Azure Blob server (Azurite, from npm: ``make test-azure`` installs it under
    .cache/azurite); its endpoint. Skips when Azurite is not installed."""
    import shutil
    import socket
    import subprocess
    import time

    binary = os.environ.get("AZURITE_BIN") or shutil.which("azurite-blob") or next(
        (str(p) for p in [Path(__file__).resolve().parents[1] / ".cache/azurite/node_modules/.bin/azurite-blob"]
         if p.exists()), None)
    if not binary:
        pytest.skip("Azurite is not installed (make test-azure installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--silent", "--loose",
                             "--skipApiVersionCheck", "--location", str(tmp_path_factory.mktemp("azurite"))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("Azurite did not start within 30 s")
    yield f"http://127.0.0.1:{port}"
    proc.kill()  # Azurite ignores SIGTERM while connections linger; its data is a temp dir
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def lecture(media_dir):
    """A 3-slide lecture with known narration and on-screen text: (path, spans)."""
    from support.synth import Slide, make_lecture

    slides = [
        Slide(
            title="Volcanoes of Hawaii",
            bullets=["Hekla erupted in 1104", "Basalt plateaus"],
            narration="Hawaii grew from a hot spot, far away from where tectonic plates pull apart.",
        ),
        Slide(
            title="Glacier Retreat",
            bullets=["Vatnajokull is shrinking"],
            narration="The largest glacier loses almost one metre of thickness every single year.",
            photo="coffee",
        ),
        Slide(
            title="Geothermal Power",
            bullets=["Hot water heats homes"],
            narration="Nine out of ten houses are heated with water from underground springs.",
        ),
    ]
    path = media_dir / "lecture one.mp4"  # a space in the name on purpose
    spans = make_lecture(slides, path)
    return path, spans


def eval_file(rel: str) -> Path:
    path = EVAL_DIR / rel
    if not path.is_file():
        pytest.skip(f"shared eval material not found: {path} (set VRAG_EVAL_DIR)")
    return path


@pytest.fixture(scope="session")
def eval_kb(tmp_path_factory):
    """One knowledge base of all of ../shared/eval (media + audio), indexed once per test session."""
    from vrag import KnowledgeBase

    eval_file("media/nih_twin_study_talk.mp4")
    kb = KnowledgeBase(tmp_path_factory.mktemp("eval") / "kb", asr_model=DEFAULT_ASR_MODEL)
    report = kb.index([EVAL_DIR / "media", EVAL_DIR / "audio"])
    assert report.ok, [(r.path, r.reason) for r in report.results if r.status != "indexed"]
    return kb


def _srt(lines):
    return "".join(f"{i + 1}\n00:00:{a:02d},000 --> 00:00:{b:02d},000\n{text}\n\n" for i, (a, b, text) in enumerate(lines))


@pytest.fixture(scope="session")
def qa_kb(tmp_path_factory, lecture):
    """The lecture plus two Curie clips whose speech comes from sidecar subtitles (known words at known
    times), indexed with shots, ASR, OCR and the graph: (for test_ask and test_eval_cli)."""
    from vrag import KnowledgeBase
    from support.synth import Slide, make_lecture

    folder = tmp_path_factory.mktemp("ask")
    for name, lines in {
        "curie_paris": [(1, 5, "Marie Curie discovered polonium in a shed in Paris."),
                        (6, 10, "The element was named after her homeland.")],
        "curie_sorbonne": [(1, 5, "Marie Curie taught physics at the Sorbonne."),
                           (6, 10, "Her lectures drew large crowds of students.")],
    }.items():
        # different pictures: identical files would be one video (ids are content hashes)
        make_lecture([Slide(title=f"History of science: {name}", min_seconds=11.0)], folder / f"{name}.mp4",
                     with_audio=False)
        (folder / f"{name}.srt").write_text(_srt(lines), encoding="utf-8")
    src, _spans = lecture
    kb = KnowledgeBase(folder / "kb", stages=("shot", "asr", "ocr", "graph"))
    report = kb.index([src, folder / "curie_paris.mp4", folder / "curie_sorbonne.mp4"])
    assert report.ok, [(r.path, r.reason) for r in report.results]
    kb.folder = folder
    return kb


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/*.json from the current code (test_golden_json.py)")
