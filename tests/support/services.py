"""Helpers for the service tests (MCP, REST, exports, watch): a small indexed knowledge base, free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def index_lecture(lecture, db: Path):
    """The conftest ``lecture`` (3 slides, known narration and on-screen text) indexed with shots, speech
    and on-screen text into ``db``: the KnowledgeBase."""
    from vrag import KnowledgeBase

    src, _spans = lecture
    kb = KnowledgeBase(db, stages=("shot", "asr", "ocr"))
    report = kb.index([src])
    assert report.ok, [(r.path, r.reason) for r in report.results]
    return kb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vrag_env() -> dict[str, str]:
    """The environment a spawned ``python -m vrag`` gets: this one (offline hub, tiny.en), repo on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def spawn(args: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "vrag", *args], env=vrag_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listening on port {port} after {timeout} s")
