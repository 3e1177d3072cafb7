"""Golden JSON: the contracts of ``vrag search --json``, ``vrag ask --json``, the Python API's
results (``to_json()``) and the LangChain Documents' metadata, recorded from real knowledge bases.

Volatile values are normalised before comparing (see :func:`normalise`): float scores become
``"<float>"`` (start/end keep one decimal), temp-dir paths become ``<tmp>/NAME`` and video ids
``<video:NAME>``. Key order is part of the contract (the CLI prints keys in that order).

Regenerate after a deliberate contract change: ``pytest tests/test_golden_json.py --update-golden``
(then review the diff of tests/golden/).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vrag import KnowledgeBase

GOLDEN = Path(__file__).parent / "golden"
_NUMBER = re.compile(r"-?\d+\.\d+")
_MKTEMP = re.compile(r"<tmp>/[^/\s\"']+?\d+/")

#: name -> (method, args, kwargs) run on the text knowledge base (``qa_kb``)
TEXT_CASES: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]] = {
    "search_auto": ("search", ("How much thickness does the biggest glacier lose every year?",), {"k": 3}),
    "search_naive": ("search", ("Marie Curie",), {"k": 3, "mode": "naive"}),
    "search_hybrid": ("search", ("geothermal water heats homes",), {"k": 3, "mode": "hybrid"}),
    "search_graph": ("search", ("How are polonium and the Sorbonne connected across these videos?",),
                     {"k": 3, "mode": "graph"}),
    "search_global": ("search", ("summarize this lecture",), {"k": 4, "filters": {"video_id": "lecture one.mp4"}}),
    "search_filtered": ("search", ("glacier",), {"k": 3, "mode": "naive", "filters": {"modality": "ocr"}}),
    "search_unanswerable": ("search", ("What is the boiling point of liquid mercury in kelvin?",), {"k": 3}),
    "ask_ocr": ("ask", ("In which year did Hekla erupt according to the slide?",), {"k": 4}),
    "ask_graph": ("ask", ("How are polonium and the Sorbonne connected across these videos?",), {"k": 4}),
    "ask_global": ("ask", ("summarize this lecture",), {"k": 4, "filters": {"video_id": "lecture one.mp4"}}),
    "ask_unanswerable": ("ask", ("What is the boiling point of liquid mercury in kelvin?",), {"k": 4}),
}


@pytest.fixture(scope="session")
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="module")
def image_kb(tmp_path_factory):
    """Keyframes of a short cut-away (navy, a cat photo, a rocket photo) and the cat as a PNG query."""
    from PIL import Image
    from skimage import data

    from support.synth import make_color_video

    folder = tmp_path_factory.mktemp("golden_image")
    video = folder / "cutaway.mp4"
    make_color_video(video, [("navy", 1.0), ("photo:chelsea", 1.5), ("photo:rocket", 1.5)])
    kb = KnowledgeBase(folder / "kb", stages=("shot", "frame"))
    report = kb.index([video])
    assert report.ok, [(r.path, r.reason) for r in report.results]
    picture = folder / "cat.png"
    Image.fromarray(data.chelsea()).save(picture)
    return kb, picture


def normalise(value: Any, kbs: list[KnowledgeBase], key: str = "") -> Any:
    """``value`` with its run-dependent parts replaced (floats, temp paths, video ids)."""
    if isinstance(value, dict):
        return {k: normalise(v, kbs, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalise(v, kbs, key) for v in value]
    if isinstance(value, float):
        return round(value, 1) if key in ("start", "end") else "<float>"
    if isinstance(value, str):
        return _text(value, kbs)
    return value


def _text(text: str, kbs: list[KnowledgeBase]) -> str:
    base = _basetemp(kbs)
    text = _MKTEMP.sub("<tmp>/", text.replace(base, "<tmp>"))
    for kb in kbs:
        for row in kb.status()["videos"]:
            text = text.replace(row["video_id"], f"<video:{Path(row['path']).name}>")
    return _NUMBER.sub("<num>", text)


def _basetemp(kbs: list[KnowledgeBase]) -> str:
    # every fixture folder is <basetemp>/<name>N/...: the knowledge bases' grandparent
    return str(Path(kbs[0].store.uri).parents[1])


def check(name: str, got: Any, kbs: list[KnowledgeBase], update: bool) -> None:
    text = json.dumps(normalise(got, kbs), indent=2, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{name}.json"
    if update:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"{path} missing: run pytest {__file__} --update-golden"
    assert text == path.read_text(encoding="utf-8"), f"{name}: JSON differs from {path}"


def _json(result: Any) -> Any:
    """The JSON a result serialises to: what the CLI prints."""
    return json.loads(json.dumps(result.to_json() if hasattr(result, "to_json") else result, ensure_ascii=False))


@pytest.mark.parametrize("name", sorted(TEXT_CASES))
def test_python_api_results_match_golden_json(name, qa_kb, update_golden):
    method, args, kwargs = TEXT_CASES[name]
    check(name, _json(getattr(qa_kb, method)(*args, **kwargs)), [qa_kb], update_golden)


def test_image_search_results_match_golden_json(image_kb, update_golden):
    from skimage import data

    kb, picture = image_kb
    check("search_image_file", _json(kb.search(image=picture, k=2)), [kb], update_golden)
    check("search_image_array", _json(kb.search(image=data.rocket(), k=2)), [kb], update_golden)
    check("search_image_and_text", _json(kb.search("a rocket", image=picture, k=2)), [kb], update_golden)


def _cli(*args: str) -> Any:
    out = subprocess.run([sys.executable, "-m", "vrag", *args], check=False, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_cli_json_matches_golden_json_and_the_python_api(qa_kb, image_kb, update_golden):
    db = str(qa_kb.store.uri)
    _, (query,), kwargs = TEXT_CASES["search_auto"]
    cli = _cli("search", query, "--db", db, "--json", "-k", str(kwargs["k"]))
    check("cli_search_auto", cli, [qa_kb], update_golden)
    assert normalise(cli, [qa_kb]) == normalise(_json(qa_kb.search(query, **kwargs)), [qa_kb])
    _, (question,), kwargs = TEXT_CASES["ask_ocr"]
    cli = _cli("ask", question, "--db", db, "--json", "-k", str(kwargs["k"]))
    check("cli_ask_ocr", cli, [qa_kb], update_golden)
    assert normalise(cli, [qa_kb]) == normalise(_json(qa_kb.ask(question, **kwargs)), [qa_kb])
    cli = _cli("ask", "What is the boiling point of liquid mercury in kelvin?", "--db", db, "--json", "--mode", "naive")
    check("cli_ask_unanswerable_naive", cli, [qa_kb], update_golden)
    kb, picture = image_kb
    cli = _cli("search", "--image", str(picture), "--db", str(kb.store.uri), "--json", "-k", "2")
    check("cli_search_image", cli, [kb], update_golden)


def test_langchain_documents_match_golden_json(qa_kb, update_golden):
    pytest.importorskip("langchain_core")
    docs = qa_kb.as_langchain_retriever(k=3, mode="hybrid").invoke("geothermal water heats homes")
    got = [{"page_content": d.page_content, "metadata": d.metadata} for d in docs]
    check("langchain_hybrid", _json(got), [qa_kb], update_golden)
