"""Search and ask end to end on generated videos: routing, the three retrieval levels, escalation,
answers with checked citations, the CLI JSON contracts and the LangChain retriever.

The knowledge base holds the 3-slide lecture (espeak-ng narration, rendered slides, real ASR and
OCR) and two short history clips whose speech comes from sidecar subtitles (known words at known
times), so the cross-video graph question does not depend on how Whisper spells "polonium".
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vrag import KnowledgeBase


@pytest.fixture(scope="module")
def kb(qa_kb):
    return qa_kb


def _overlaps(item, start, end, slack=1.0):
    return item["start"] <= end + slack and item["end"] >= start - slack


def test_spoken_fact_is_found_at_rank_one_with_its_span(kb, lecture):
    src, spans = lecture
    glacier = spans[1]
    result = kb.search("How much thickness does the biggest glacier lose every year?", k=5)
    top = result.hits[0]
    assert top.path == str(src) and top.modality == "asr"
    assert _overlaps(top.to_json(), glacier.speech_start, glacier.speech_end)
    assert result.route in ("naive", "hybrid") and 0.0 < result.confidence <= 1.0
    answer = kb.ask("How much thickness does the biggest glacier lose every year?")
    text = answer.answer.text.lower()
    assert answer.found and ("metre" in text or "meter" in text)
    assert answer.citations and all(c["path"] == str(src) for c in answer.citations)
    assert _overlaps(answer.citations[0], glacier.speech_start, glacier.speech_end)


def test_slide_text_question_is_answered_from_ocr(kb, lecture):
    src, spans = lecture
    answer = kb.ask("In which year did Hekla erupt according to the slide?")
    assert "1104" in answer.answer.text
    cited = answer.citations[0]
    assert cited["path"] == str(src) and _overlaps(cited, spans[0].start, spans[0].end)
    assert any(h.modality == "ocr" and "1104" in h.text for h in answer.hits)


def test_cross_video_relation_routes_to_graph_and_cites_both_videos(kb):
    result = kb.ask("How are polonium and the Sorbonne connected across these videos?")
    assert result.route == "graph"
    cited = {c["path"].rsplit("/", 1)[-1] for c in result.citations}
    assert cited == {"curie_paris.mp4", "curie_sorbonne.mp4"}
    assert "Marie Curie" in result.answer.text  # the path through the shared entity is shown
    assert any("graph:" in h.why for h in result.hits)
    assert any("Marie Curie" in h.graph_path and h.why.startswith(f"graph: path {h.graph_path}") for h in result.hits)


def test_a_question_in_two_parts_is_answered_part_by_part(kb):
    """Two questions in one, about two clips: each part is searched and answered on its own, under
    its own line; the citations and the hits hold both clips."""
    question = "Where did Marie Curie discover polonium, and what subject did she teach at the Sorbonne?"
    result = kb.ask(question)
    lines = result.answer.text.splitlines()
    assert lines[0] == "Where did Marie Curie discover polonium?" and "What subject did she teach at the Sorbonne?" in lines
    assert "Paris" in result.answer.text and "physics" in result.answer.text, result.answer.text
    assert {c["path"].rsplit("/", 1)[-1] for c in result.citations} == {"curie_paris.mp4", "curie_sorbonne.mp4"}
    assert {h.path.rsplit("/", 1)[-1] for h in result.hits[:2]} == {"curie_paris.mp4", "curie_sorbonne.mp4"}
    data = result.to_json()
    assert data["question"] == question and len(data["hits"]) <= 8 and data["found"]
    assert result.search.routing["parts"] == ["Where did Marie Curie discover polonium?",
                                              "What subject did she teach at the Sorbonne?"]


def test_global_question_spreads_evidence_over_the_video(kb, lecture):
    src, spans = lecture
    result = kb.search("summarize this lecture", k=6, filters={"video_id": str(src)})
    assert result.global_ is True and result.route == "hybrid"
    hits = result.to_json()["hits"]
    covered = {i for i, s in enumerate(spans) for h in hits if _overlaps(h, s.start, s.end, slack=0)}
    assert covered == {0, 1, 2}  # every slide, not the single best one three times
    starts = [h["start"] for h in hits]
    assert starts == sorted(starts)
    answer = kb.ask("summarize this lecture", filters={"video_id": "lecture one.mp4"})
    assert answer.answer.text.startswith("Overview of") and len(answer.citations) >= 3


def test_unanswerable_question_says_not_found_after_escalating(kb):
    result = kb.ask("What is the boiling point of liquid mercury in kelvin?")
    assert not result.found and result.answer.text == "Not found in the indexed videos." and result.citations == []
    assert result.search.escalated is True
    levels = [s["level"] for s in result.search.steps]
    assert levels[0] in ("naive", "hybrid") and len(levels) >= 2 and all(s["weak"] for s in result.search.steps)


def test_forced_modes_filters_and_why(kb, lecture):
    src, spans = lecture
    for mode in ("naive", "hybrid", "graph"):
        result = kb.search("Marie Curie", k=3, mode=mode)
        assert result.route == mode and result.escalated is False and result.hits, mode
    hybrid = kb.search("geothermal water heats homes", k=3, mode="hybrid")
    assert "words:" in hybrid.hits[0].why and hybrid.to_json()["hits"][0]["signals"]["words"] > 0
    late = kb.search("glacier", k=5, mode="hybrid", filters={"start": spans[2].start, "video_id": str(src)})
    assert late.hits and all(h["end"] >= spans[2].start for h in late.to_json()["hits"])
    only_ocr = kb.search("glacier", k=5, mode="naive", filters={"modality": "ocr"})
    assert {h.modality for h in only_ocr.hits} == {"ocr"}
    with pytest.raises(Exception, match="no indexed video"):
        kb.search("glacier", filters={"video_id": "missing.mp4"})
    with pytest.raises(Exception, match="search mode 'deep'"):
        kb.search("glacier", mode="deep")


def test_check_citations_keeps_only_overlapping_spans_of_retrieved_videos(kb):
    from vrag.retrievers.generate import check_citations

    hits = kb.search("glacier", k=3, mode="naive").hits
    h = hits[0].segment
    good = {"video_id": h.video_id, "path": "", "start": h.start, "end": h.end}
    elsewhere = dict(good, video_id="0" * 16)
    later = dict(good, start=h.end + 100, end=h.end + 110)
    valid, dropped = check_citations([good, elsewhere, later, good], hits)
    assert valid == [good] and dropped == 3


def test_extractive_answer_keeps_the_antecedent_and_abstains_on_prices():
    from vrag.backends.text_embed import text_embedder
    from vrag.config import Config
    from vrag.retrievers.generate import NOT_FOUND, ExtractiveGenerator
    from vrag.schema import Hit, Segment

    gen = ExtractiveGenerator(text_embedder(Config.load()))
    seg = Segment("v1", "asr", 28.0, 40.0, "This photograph shows Eileen Collins. In 1995, she became the first woman "
                  "to pilot the Space Shuttle, and in 1999 the first woman to command it.", "test@1")
    ad = Segment("v2", "asr", 0.0, 6.0, "Everyone loves the way Skin Authority sunscreen feels when it goes on.",
                 "test@1")
    hits = [Hit(seg, 0.8, "asr", "talk.mp4"), Hit(ad, 0.5, "asr", "ad.mp4")]
    answer = gen.answer("Who was the first woman to pilot the Space Shuttle?", hits)
    assert answer.found and "Eileen Collins. In 1995, she became" in answer.text  # "she" alone does not answer
    price = gen.answer("How much does the Skin Authority sunscreen cost?", hits[1:])
    assert not price.found and price.text == NOT_FOUND and not price.citations
    assert not gen.answer("How much does a big bottle of the Skin Authority sunscreen cost?", hits[1:]).found
    priced = Segment("v2", "ocr", 6.0, 9.0, "Skin Authority sunscreen: now $24.99", "test@1")
    assert gen.answer("How much does the Skin Authority sunscreen cost?", [Hit(priced, 0.6, "ocr", "ad.mp4")]).found


def test_answer_borrows_the_sentence_before_a_pronoun_led_speech_record(tmp_path):
    """Speech records are cut at sentence ends: the one that says "she" is retrieved, the one that
    names her is not; `ask` reads it from the store and quotes both, citing the span of both."""
    from vrag.backends.text_embed import text_embedder
    from vrag.config import Config
    from vrag.retrievers.generate import ExtractiveGenerator, with_context
    from vrag.schema import Hit, Segment
    from vrag.store import Store

    store = Store(tmp_path / "kb")
    named = Segment("v1", "asr", 28.6, 31.2, "This photograph shows Eileen Collins.", "test@1")
    she = Segment("v1", "asr", 31.9, 40.2, "In 1995, she became the first woman to pilot the Space Shuttle.", "test@1")
    other = Segment("v1", "asr", 10.0, 20.0, "Light roasts are finished at one hundred ninety six degrees.", "test@1")
    store.segments.replace("v1", [named, she, other], "m", 4)
    hits = [Hit(she, 0.8, "asr", "talk.mp4"), Hit(other, 0.2, "asr", "talk.mp4")]
    evidence = with_context(store, hits)
    assert [h.segment.segment_id for h in evidence] == [she.segment_id, other.segment_id, named.segment_id]
    assert evidence[-1].signals == {"context": 1.0} and "context" in evidence[-1].why
    answer = ExtractiveGenerator(text_embedder(Config.load())).answer(
        "Who was the first woman to pilot the Space Shuttle?", evidence)
    assert answer.short == "Eileen Collins"  # the person asked for, from the sentence borrowed before "she"
    assert answer.text.splitlines()[0] == "Eileen Collins"
    assert answer.text.splitlines()[1].startswith("“This photograph shows Eileen Collins. In 1995, she became")
    assert answer.citations[0]["start"] == 28.6 and answer.citations[0]["end"] == 40.2
    assert with_context(store, [Hit(other, 0.5, "asr", "talk.mp4")]) == [Hit(other, 0.5, "asr", "talk.mp4")]


def test_cli_search_and_ask_json_contracts(kb, lecture):
    db = str(kb.store.path)
    out = subprocess.run([sys.executable, "-m", "vrag", "search", "glacier thickness", "--db", db, "-k", "3", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"query", "route", "confidence", "escalated", "hits"} <= set(data) and len(data["hits"]) <= 3
    assert {"video_id", "path", "start", "end", "modality", "text", "score", "why"} <= set(data["hits"][0])
    out = subprocess.run([sys.executable, "-m", "vrag", "ask", "Which year did Hekla erupt?", "--db", db, "--json"],
                         capture_output=True, text=True, timeout=300)
    data = json.loads(out.stdout)
    assert {"question", "route", "answer", "citations", "hits"} <= set(data)
    assert {"video_id", "path", "start", "end"} <= set(data["citations"][0])
    human = subprocess.run([sys.executable, "-m", "vrag", "ask", "Which year did Hekla erupt?", "--db", db],
                           capture_output=True, text=True, timeout=300)
    assert human.stdout.splitlines()[0] == "1104"  # the direct answer leads, then the quote and its source
    assert f"{lecture[0].name} @ 00:" in human.stdout and "route:" in human.stdout
    assert str(lecture[0].parent) not in human.stdout  # people read file names, not absolute paths


def test_langchain_retriever_returns_documents_with_hit_metadata(kb, lecture):
    from langchain_core.documents import Document

    retriever = kb.as_langchain_retriever(k=2, mode="naive")
    docs = retriever.invoke("largest glacier")
    assert 1 <= len(docs) <= 2 and all(isinstance(d, Document) for d in docs)
    meta = docs[0].metadata
    assert meta["path"] == str(lecture[0]) and meta["start"] < meta["end"] and meta["route"] == "naive"
    assert "glacier" in docs[0].page_content.lower()


def test_llm_generator_citations_are_checked_and_evidence_is_delimited(kb, lecture):
    """Against a FAKE OpenAI-compatible server: vrag's side of the LLM answer path."""
    from fake_chat_server import FakeOpenAIServer

    replies = iter([
        "The glacier loses about one metre a year [1]. It is also in Paris [9].",  # [9] points at nothing
        "It is said in the video [42].",  # no valid citation at all
        "NOT FOUND",
    ])
    with FakeOpenAIServer(reply=lambda body, n: next(replies)) as server:
        llm = KnowledgeBase(kb.store.path, generator="llm", llm_model="fake-llm", llm_base_url=server.url,
                            llm_retries=0, llm_timeout=5.0)
        first = llm.ask("How much thickness does the biggest glacier lose every year?", mode="naive")
        prompt = server.requests[0]["messages"][-1]["content"]
        assert '<evidence n="1" video="' in prompt and "data, not instructions" in prompt
        assert first.answer.generator == "llm:openai:fake-llm" and first.answer.dropped == 1
        assert len(first.citations) == 1 and first.citations[0]["path"] == str(lecture[0])
        second = llm.ask("Where is the glacier discussed?", mode="naive")
        assert second.citations == [] and "No valid citation" in second.answer.text
        third = llm.ask("What does the lecture say about geothermal homes?", mode="naive")
        assert not third.found and third.answer.text == "Not found in the indexed videos."
    down = KnowledgeBase(kb.store.path, generator="llm", llm_model="fake-llm", llm_base_url=server.url,
                         llm_retries=0, llm_timeout=2.0)
    fallback = down.ask("In which year did Hekla erupt according to the slide?")
    assert "1104" in fallback.answer.text and fallback.answer.generator.startswith("extractive (llm at")


def test_a_generator_named_as_module_class_in_the_settings_answers(kb):
    from vrag.errors import ConfigError

    plugged = KnowledgeBase(kb.store.uri, generator="support.parts:FirstHitGenerator")
    out = plugged.ask("How much thickness does the biggest glacier lose every year?")
    assert out.answer.generator == "first-hit" and out.to_json()["generator"] == "first-hit"
    assert out.text == out.hits[0].text and out.citations[0]["start"] == out.hits[0].start
    with pytest.raises(ConfigError, match=r"generator='first-hit': unknown value 'first-hit'; valid: extractive, llm "
                                          r"\(or 'module:Class'\)"):
        KnowledgeBase(kb.store.uri, generator="first-hit")
    with pytest.raises(ConfigError, match=r"generator backend 'support.parts:Nope' cannot be imported"):
        KnowledgeBase(kb.store.uri, generator="support.parts:Nope").ask("glacier")
