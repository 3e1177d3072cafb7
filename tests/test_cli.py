"""The command line as a user runs it: status, search --json contract, config, empty states."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support.synth import Slide, make_lecture


def _vrag(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "vrag", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_empty_states_say_what_to_do(tmp_path):
    out = _vrag("status", "--db", str(tmp_path / "kb"))
    assert out.returncode == 0 and "nothing indexed yet; run `vrag index PATH" in out.stdout
    out = _vrag("search", "anything", "--db", str(tmp_path / "none"))
    assert out.returncode == 1
    assert out.stderr.strip() == f"vrag: error: {tmp_path / 'none'}: no knowledge base here yet; run `vrag index PATH --db {tmp_path / 'none'}` first"


def test_index_status_and_search_json_contracts(tmp_path):
    video = tmp_path / "slide.mp4"
    make_lecture([Slide(title="Penguin Colonies", bullets=["Emperor penguins breed in winter"])], video,
                 size=(640, 360), with_audio=False)
    db = str(tmp_path / "kb")
    out = _vrag("index", str(video), "--db", db, "--only", "shots,ocr", "-q")
    assert out.returncode == 0, out.stderr
    assert "1 indexed, 0 failed" in out.stdout
    status = json.loads(_vrag("status", "--db", db, "--json").stdout)
    (video_row,) = status["videos"]
    assert {"video_id", "path", "duration", "status", "counts"} <= set(video_row)
    assert video_row["counts"]["ocr"] == 1 and video_row["path"] == str(video)
    human = _vrag("status", "--db", db).stdout
    assert "indexed" in human and "ocr 1" in human
    result = json.loads(_vrag("search", "emperor penguins", "--db", db, "--json", "-k", "2").stdout)
    assert set(result) >= {"query", "route", "confidence", "escalated", "hits"}
    hit = result["hits"][0]
    assert set(hit) >= {"video_id", "path", "start", "end", "modality", "text", "score", "why"}  # extended, never reshaped
    assert hit["path"] == str(video) and "Emperor penguins" in hit["text"]
    line = _vrag("search", "emperor penguins", "--db", db, "-k", "1").stdout.splitlines()[1]
    assert line.startswith(f"{video.name} @ 00:00–00:0") and str(video.parent) not in line  # file names for people


def test_config_lists_every_setting_with_its_source(tmp_path):
    (tmp_path / "vrag.toml").write_text("ocr_interval = 3.0\n")
    out = _vrag("config", "--set", "threads=1", cwd=tmp_path)
    lines = {ln.split()[0]: ln for ln in out.stdout.splitlines()}
    assert "[vrag.toml; env VRAG_OCR_INTERVAL]" in lines["ocr_interval"] and "3.0" in lines["ocr_interval"]
    assert "[argument; env VRAG_THREADS]" in lines["threads"]
    assert "[default; env VRAG_DB]" in lines["db"]


def test_bad_time_filter_and_unconfigured_llm_say_what_is_wrong(tmp_path):
    from vrag.backends.chat import ChatEndpoint
    from vrag.config import Config
    from vrag.errors import ConfigError

    out = _vrag("search", "anything", "--from", "1:xx", "--db", str(tmp_path / "kb"))
    assert out.returncode == 1
    assert out.stderr.strip() == "vrag: error: --from: not a time: '1:xx' (use seconds, mm:ss or h:mm:ss)"
    with pytest.raises(ConfigError, match=r"generator 'llm' needs llm_model \(and llm_base_url for a local server\)"):
        ChatEndpoint.from_config(Config.load().replace(generator="llm"), "llm", "generator 'llm'")


def test_ray_engine_with_no_workers_is_a_one_line_error(tmp_path):
    (tmp_path / "videos").mkdir()
    out = _vrag("index", str(tmp_path / "videos"), "--db", str(tmp_path / "kb"), "--engine", "ray", "--workers", "0")
    assert out.returncode == 1
    assert out.stderr.strip() == "vrag: error: --workers 0 (ray_workers): at least one worker"
