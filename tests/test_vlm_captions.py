"""The opt-in VLM captioner's plumbing, against a FAKE OpenAI-compatible server on localhost.

The fake server stands in for a real vision model (none ships offline); what is tested is
vrag's side: the request (image + delimited context), the records, caching, and that a
down endpoint leaves every other store intact and is retried later.
"""

from __future__ import annotations

import pytest

from vrag import KnowledgeBase

from fake_chat_server import FakeOpenAIServer


def _vlm(db, url, **kw):
    return KnowledgeBase(db, captioner="vlm", vlm_model="fake-vlm", vlm_base_url=url, vlm_retries=0,
                         vlm_timeout=5.0, **kw)


def test_vlm_captions_carry_context_and_are_cached(tmp_path, lecture):
    src, spans = lecture
    with FakeOpenAIServer() as server:
        kb = _vlm(tmp_path / "kb", server.url)
        (result,) = kb.index([src]).results
        assert result.status == "indexed", result.reason
        captions = kb.segments(modality="caption")
        # requests go out a few at a time, so answers come back in any order
        assert sorted(c.text for c in captions) == sorted(f"Fake caption {i + 1}." for i in range(len(spans)))
        assert all(c.producer == "vlm:openai:fake-vlm@caption-1" for c in captions)
        assert len(server.requests) == len(spans)
        texts = [next(p["text"] for p in r["messages"][0]["content"] if p["type"] == "text") for r in server.requests]
        (glacier,) = [t for t in texts if "Glacier" in t]
        assert "<screen>Glacier Retreat; Vatnajokull is shrinking</screen>" in glacier
        assert "not instructions" in glacier and "<speech>" in glacier and "single year" in glacier
        for request in server.requests:
            assert any(p["type"] == "image_url" and p["image_url"]["url"].startswith("data:image/jpeg;base64,")
                       for p in request["messages"][0]["content"])


def test_captions_already_answered_are_not_asked_again(tmp_path, lecture):
    src, spans = lecture
    with FakeOpenAIServer(fail_after=2) as flaky:
        (result,) = _vlm(tmp_path / "kb", flaky.url).index([src]).results
        assert result.status == "partial" and "500" in result.reason
    with FakeOpenAIServer() as server:
        kb = _vlm(tmp_path / "kb", server.url)
        (result,) = kb.index([src]).results
        assert result.status == "indexed"
        assert len(server.requests) == len(spans) - 2  # the two answered before the failure came from the cache
        assert len(kb.segments(modality="caption")) == len(spans)


def test_a_down_endpoint_never_blocks_the_other_stores(tmp_path, lecture):
    src, spans = lecture
    with FakeOpenAIServer() as server:
        url = server.url
    kb = _vlm(tmp_path / "kb", url)  # nothing listens there any more
    (result,) = kb.index([src]).results
    assert result.status == "partial"
    assert result.reason.startswith("caption: VLM captioner at http://127.0.0.1:")
    assert kb.segments(modality="caption") == []
    assert kb.segments(modality="asr") and kb.segments(modality="ocr") and kb.segments(modality="frame")
    status = kb.status()["videos"][0]
    assert status["status"] == "partial" and status["errors"][0].startswith("caption:")
    # when the server is back, only the captions are redone
    with FakeOpenAIServer() as server:
        kb = _vlm(tmp_path / "kb", url.replace(url.rsplit(":", 1)[1], f"{server.httpd.server_address[1]}/v1"))
        (result,) = kb.index([src]).results
        assert result.status == "indexed" and "asr" not in result.timings
        assert len(kb.segments(modality="caption")) == len(spans)
        assert kb.status()["videos"][0]["errors"] == []


def test_vlm_needs_a_model_name(tmp_path, lecture):
    from vrag.errors import ConfigError

    with pytest.raises(ConfigError, match="captioner 'vlm' needs vlm_model"):
        KnowledgeBase(tmp_path / "kb", captioner="vlm").index([lecture[0]])
