"""Typed results: SearchResult/AskResult/Hit fields, their JSON presence rules, the typed graph path
that control flow reads (never the ``why`` text), and the shared command-line settings module."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vrag.results import AskResult, SearchResult
from vrag.retrievers.adaptive import Retrieval, weak_evidence
from vrag.retrievers.evidence import merge_adjacent
from vrag.retrievers.fusion import rrf
from vrag.schema import Answer, Hit, Segment

PATH = "polonium -[discover]- Marie Curie -[teach at]- Sorbonne"


def _hit(start: float, text: str, why: str, graph_path: str = "", modality: str = "asr") -> Hit:
    seg = Segment("v1", modality, start, start + 4.0, text, "test@1")
    return Hit(seg, 0.9, why, "clip.mp4", {"graph": 1.0, "similarity": 0.1}, graph_path)


def _retrieval(hits: list[Hit]) -> Retrieval:
    return Retrieval(hits, "hybrid", 0.7, True, False, {"mode": "auto", "level": "naive"},
                     [{"level": "naive", "hits": 0, "weak": "nothing found"}, {"level": "hybrid", "hits": 1, "weak": ""}])


def test_escalation_reads_the_graph_path_field_not_the_why_text():
    on_path = _hit(1.0, "Marie Curie discovered polonium.", "graph: mentions polonium (asr)", PATH)
    assert weak_evidence("graph", [on_path]) == ""  # a path is strong evidence on its own
    looks_like_one = _hit(1.0, "Marie Curie discovered polonium.", f"graph: path {PATH} (asr)")
    assert weak_evidence("graph", [looks_like_one]).startswith("best similarity 0.10")


def test_graph_path_survives_fusion_and_merging_and_stays_out_of_the_json():
    a = _hit(1.0, "Marie Curie discovered polonium.", f"graph: path {PATH} (asr)", PATH)
    b = _hit(5.5, "She taught at the Sorbonne.", "graph: mentions Sorbonne (ocr)", modality="ocr")
    (merged,) = merge_adjacent([a, b])
    assert merged.graph_path == PATH and merged.why == f"graph: path {PATH} (asr); merged with 1 adjacent (ocr)"
    fused = rrf([[merged], [b]], k=2)
    assert [h.graph_path for h in fused] == [PATH, ""] and fused[0].signals == merged.signals
    assert "graph_path" not in merged.to_json() and list(merged.to_json()) == [
        "video_id", "path", "start", "end", "modality", "text", "score", "why", "signals", "language",
        "speaker"]  # + issues 17, 18
    assert (merged.video_id, merged.start, merged.end, merged.modality) == ("v1", 1.0, 9.5, "asr")


def test_connection_line_is_the_typed_path_even_on_a_merged_hit():
    from vrag.backends.text_embed import text_embedder
    from vrag.config import Config
    from vrag.retrievers.generate import ExtractiveGenerator

    a = _hit(1.0, "Marie Curie discovered polonium in a shed in Paris.", f"graph: path {PATH} (asr)", PATH)
    b = _hit(5.5, "The element was named after her homeland.", "graph: mentions polonium (asr)")
    c = Hit(Segment("v2", "asr", 1.0, 5.0, "Marie Curie taught physics at the Sorbonne.", "test@1"), 0.8,
            f"graph: path {PATH} (asr)", "other.mp4", {"graph": 0.9}, PATH)
    (merged,) = merge_adjacent([a, b])
    answer = ExtractiveGenerator(text_embedder(Config.load())).answer(
        "How are polonium and the Sorbonne connected?", [merged, c])
    assert answer.found and answer.text.splitlines()[0] == f"Connection: {PATH}"


def test_search_json_has_routing_keys_only_after_text_retrieval_and_image_only_with_a_picture():
    hit = _hit(1.0, "Marie Curie discovered polonium.", "asr: vector similarity 0.80")
    visual = SearchResult("", "visual", 1.0, False, [hit], image="<array>")
    assert list(visual.to_json()) == ["query", "route", "confidence", "escalated", "hits", "image"]
    assert (visual.global_, visual.weak, visual.routing, visual.steps) == (False, False, {}, [])
    text = SearchResult("polonium", "hybrid", 0.7, True, [hit], _retrieval([hit]))
    assert list(text.to_json()) == ["query", "route", "confidence", "escalated", "hits", "global", "weak",
                                    "routing", "steps"]
    assert text.to_json()["hits"] == [hit.to_json()] and text.to_json()["steps"][1]["level"] == "hybrid"
    both = SearchResult("polonium", "hybrid", 0.7, True, [hit], _retrieval([hit]), "cat.png")
    assert list(both.to_json())[-1] == "image" and both.to_json()["image"] == "cat.png"


def test_ask_json_and_fields():
    hit = _hit(1.0, "Marie Curie discovered polonium.", "asr: vector similarity 0.80")
    search = SearchResult("who found polonium?", "naive", 0.9, False, [hit], _retrieval([hit]))
    cited = [{"video_id": "v1", "path": "clip.mp4", "start": 1.0, "end": 5.0}]
    result = AskResult("who found polonium?", search, Answer("“Marie Curie discovered polonium.”", cited, dropped=2,
                                                                 short="Marie Curie"))
    assert result.to_json() == {
        "question": "who found polonium?", "route": "naive", "answer": "“Marie Curie discovered polonium.”",
        "citations": cited, "hits": [hit.to_json()], "found": True, "generator": "extractive",
        "dropped_citations": 2, "confidence": 0.9, "escalated": False, "answer_short": "Marie Curie"}
    assert list(result.to_json())[:3] == ["question", "route", "answer"]
    assert (result.text, result.citations, result.found, result.route, result.hits) == (
        "“Marie Curie discovered polonium.”", cited, True, "naive", [hit])


def test_reading_a_result_by_key_still_works_but_is_deprecated():
    hit = _hit(1.0, "Marie Curie discovered polonium.", "asr: vector similarity 0.80")
    search = SearchResult("polonium", "naive", 0.9, False, [hit], _retrieval([hit]))
    with pytest.warns(DeprecationWarning, match=r"result\['hits'\] is deprecated"):
        assert search["hits"] == [hit.to_json()]
    with pytest.warns(DeprecationWarning, match="deprecated"):
        assert search.get("image") is None
    answer = AskResult("polonium?", search, Answer("Not found in the indexed videos.", found=False))
    with pytest.warns(DeprecationWarning):
        assert answer["answer"] == "Not found in the indexed videos." and answer["found"] is False


def test_shared_settings_parsing_lives_outside_the_cli():
    from vrag.config_args import config_from_args, parse_common

    args = parse_common(["--db", "kb2", "--set", "threads=1", "--server.port", "8501", "--other"])
    assert (args.db, args.config, args.sets) == ("kb2", None, ["threads=1"])
    cfg = config_from_args(args)
    assert str(cfg.db) == "kb2" and cfg.source("threads") == "argument"
    with pytest.raises(Exception, match="expected NAME=VALUE"):
        config_from_args(parse_common(["--set", "threads"]))


def test_the_ui_and_eval_do_not_import_the_cli_module_and_results_are_exported_lazily():
    pytest.importorskip("streamlit")
    code = (
        "import sys, vrag, vrag.cli_eval, vrag.config_args;"
        "assert {'SearchResult', 'AskResult', 'Answer', 'Hit'} <= set(vrag.__all__);"
        "assert vrag.SearchResult.__name__ == 'SearchResult' and vrag.AskResult.__module__ == 'vrag.results';"
        "assert vrag.Answer is __import__('vrag.schema').schema.Answer;"
        "assert 'vrag.kb' not in sys.modules;"
        "import vrag.ui.app;"
        "print(' '.join(m for m in ('vrag.ui.app', 'vrag.kb', 'vrag.cli') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["vrag.ui.app", "vrag.kb"]  # the web UI reads its settings without the CLI module
