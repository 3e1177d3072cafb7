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


# -- a fast, careful CLI (issue 20: items 5 and 7) ----------------------------------------------------------

_LOADED = ("torch", "onnxruntime", "sentence_transformers", "transformers", "spacy", "lancedb",
           "lance_namespace_urllib3_client.api")


def _vrag_in_process(*args, cwd=None):
    """The CLI in a fresh interpreter; its last stdout line: the heavy libraries it had imported by the end."""
    script = ("import sys\nfrom vrag.cli import main\nrc = main(sys.argv[1:])\n"
              f"print(sorted(m for m in {_LOADED!r} if m in sys.modules))\nsys.exit(rc)\n")
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("command", ["search", "ask"])
@pytest.mark.parametrize("args, error", [
    (["--modality", "sound"], "modality filter 'sound': valid: shot, window, chapter, asr, ocr, caption, frame, "
                              "audio_event, profile, speaker"),
    (["--from", "1:30", "--to", "0:10"], "time filter: start 90 s is after end 10 s"),
    (["--from", "99:99"], "--from: not a time: '99:99' (seconds must be from 0 to below 60)"),
    (["--to", "1:75:00"], "--to: not a time: '1:75:00' (minutes must be from 0 to below 60)"),
])
def test_argument_errors_come_before_any_model_or_store_loads(qa_kb, command, args, error):
    out = _vrag_in_process(command, "roast", "--db", qa_kb.store.uri, *args)
    assert out.returncode == 1
    assert out.stderr.strip() == f"vrag: error: {error}"  # one line
    assert out.stdout.strip() == "[]"  # nothing heavy was even imported


def test_db_that_is_a_file_says_so(tmp_path):
    (tmp_path / "kb.txt").write_text("not a knowledge base")
    for command in (["search", "roast"], ["ask", "roast?"], ["status"], ["index", str(tmp_path)]):
        out = _vrag_in_process(*command, "--db", str(tmp_path / "kb.txt"))
        assert out.returncode == 1, command
        assert out.stderr.strip() == (f"vrag: error: {tmp_path / 'kb.txt'}: is a file, not a knowledge-base directory "
                                      "(give --db a directory)")
        assert "torch" not in out.stdout and "onnxruntime" not in out.stdout


def test_times_with_60_or_more_seconds_or_minutes_are_refused():
    from vrag.timecode import parse

    assert parse("90") == 90 and parse("99:30") == 99 * 60 + 30 and parse("1:02:03") == 3723 and parse("0:59.5") == 59.5
    for bad in ("99:99", "1:60", "1:60:00", "1:00:60", "1:-5"):
        with pytest.raises(ValueError, match=r"must be from 0 to below 60"):
            parse(bad)


def test_search_loads_no_torch_and_answers(qa_kb):
    out = _vrag_in_process("search", "Marie Curie polonium", "--db", qa_kb.store.uri, "--mode", "naive", "-k", "2")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "polonium" in lines[1] and out.stderr == ""
    assert eval(lines[-1]) == ["lancedb", "onnxruntime"]  # the store and the ONNX text embedder, nothing else


def test_ask_loads_spacy_without_torch_and_answers(qa_kb):
    out = _vrag_in_process("ask", "In which year did Hekla erupt according to the slide?", "--db", qa_kb.store.uri)
    assert out.returncode == 0, out.stderr
    assert "1104" in out.stdout.splitlines()[0] and out.stderr == ""
    assert eval(out.stdout.splitlines()[-1]) == ["lancedb", "onnxruntime", "spacy"]


def test_lance_rest_client_loads_on_first_use_after_being_deferred():
    script = (
        "import sys\n"
        "from vrag.importing import defer_lance_rest_client\n"
        "defer_lance_rest_client()\n"
        "import lancedb, lancedb.namespace\n"
        "print('lance_namespace_urllib3_client.api' in sys.modules)\n"
        "import lance_namespace_urllib3_client as client\n"
        "from lance_namespace_urllib3_client import ApiClient, rest\n"
        "print(client.TableApi.__name__, ApiClient.__name__, rest.__name__, bool(client.__version__))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "TableApi", "ApiClient", "lance_namespace_urllib3_client.rest", "True"]


def test_graph_list_by_appearances_and_type(qa_kb):
    entities = json.loads(_vrag("graph", "list", "--db", qa_kb.store.uri, "--json").stdout)["entities"]
    assert entities and {"name", "type", "appearances", "videos", "aliases"} <= set(entities[0])
    counts = [e["appearances"] for e in entities]
    assert counts == sorted(counts, reverse=True)
    curie = next(e for e in entities if e["name"] == "Marie Curie")
    assert curie["type"] == "PERSON" and curie["videos"] == 2 and curie["appearances"] >= 2
    people = json.loads(_vrag("graph", "list", "--type", "person", "--db", qa_kb.store.uri, "--json").stdout)
    assert people["entities"] and {e["type"] for e in people["entities"]} == {"PERSON"}
    human = _vrag("graph", "list", "--type", "PERSON", "--db", qa_kb.store.uri).stdout.splitlines()
    assert any(line.startswith("Marie Curie ") and "PERSON" in line and "in 2 videos" in line for line in human)
    out = _vrag("graph", "list", "--type", "SPACESHIP", "--db", qa_kb.store.uri)
    assert out.returncode == 1 and out.stderr.startswith("vrag: error: no entities of type 'SPACESHIP' in ")
    assert "types here: " in out.stderr and "PERSON" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_eval_warns_when_the_question_files_are_not_indexed(qa_kb, tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "what temperature is a light roast finished at", "file": "coffee.mp4"})
                  + "\n" + json.dumps({"question": "who piloted the shuttle", "file": ["shuttle.mp4"]}) + "\n")
    out = _vrag("eval", str(qa), "--db", qa_kb.store.uri, "-q")
    assert out.returncode == 0
    assert out.stderr.strip() == (f"vrag: warning: 2 of the 2 files the questions name are not indexed in "
                                  f"{qa_kb.store.uri}: coffee.mp4, shuttle.mp4 (every score will be zero)")
    qa.write_text(json.dumps({"question": "who discovered polonium", "file": "curie_paris.mp4"}) + "\n")
    assert _vrag("eval", str(qa), "--db", qa_kb.store.uri, "-q").stderr == ""  # all there: no warning


def test_piped_status_keeps_long_paths_on_one_line(qa_kb):
    out = _vrag("status", "--db", qa_kb.store.uri)  # stdout is a pipe here
    paths = [v["path"] for v in qa_kb.status()["videos"]]
    assert all(len(p) > 40 for p in paths)  # longer than rich's 80-column table would give the file column
    for path in paths:
        assert any(path in line for line in out.stdout.splitlines()), out.stdout


def test_python_api_prints_nothing_to_stderr(qa_kb, tmp_path):
    """Searching through the Python API draws no "Loading weights" bar: the ONNX path (with its first
    export into a fresh cache) and the sentence-transformers path."""
    script = (
        "from vrag import KnowledgeBase\n"
        f"for kw in ({{'asr_model_cache': {str(tmp_path / 'models')!r}}}, {{'text_embedder': 'minilm-torch'}}):\n"
        f"    kb = KnowledgeBase({qa_kb.store.uri!r}, **kw)\n"
        "    assert kb.search('geothermal water heats homes', k=2, mode='naive').hits\n"
    )
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY")}  # as a user's shell has it
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, env=env,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert (tmp_path / "models").is_dir()  # the first-use export happened in this process
