"""The offline query router: labelled set, shipped weights, held-out accuracy, routes, errors."""

from __future__ import annotations

import json
import re

import pytest

from vrag.config import Config
from vrag.errors import ConfigError
from vrag.retrievers import router_train
from vrag.retrievers.router import LEVELS, LEXICAL_FEATURES, Route, Router

# Measured with the shipped weights: level 0.897, global 0.962 on 184 held-out template queries, and
# level 0.637 (0.54 before real questions joined the training set) on 113 held-out questions written
# about real recordings the router never saw (tests/qa/batch2.jsonl). Training on real questions and
# never calling a specific question global cost ~3 points on the templates and won 10 on real ones.
MIN_LEVEL_ACCURACY = 0.87
MIN_GLOBAL_ACCURACY = 0.92
MIN_REAL_LEVEL_ACCURACY = 0.60


@pytest.fixture(scope="module")
def embedder():
    from vrag.backends.text_embed import text_embedder

    return text_embedder(Config.load(env={}, text_embedder="minilm"))


@pytest.fixture(scope="module")
def router(embedder):
    return Router(embedder.embed, model_id=embedder.model_id)


def _norm(query: str) -> str:
    return re.sub(r"\W+", " ", query.lower()).strip()


def test_query_set_is_balanced_and_splits_do_not_overlap():
    real = router_train.load_queries(real=True)
    assert {r["split"] for r in real} == {"train", "test"}  # real questions train it and test it on unseen files
    assert not ({r["source"] for r in real if r["split"] == "train"} & {r["source"] for r in real if r["split"] == "test"})
    rows = router_train.load_queries(real=False)
    assert len(rows) >= 450
    assert {r["route"] for r in rows} == set(LEVELS) and {r["split"] for r in rows} == {"train", "test"}

    def share(key, value):
        return sum(r[key] == value for r in rows) / len(rows)

    assert min(share("route", level) for level in LEVELS) >= 0.25
    assert 0.10 <= share("global", True) <= 0.20
    assert 0.15 <= share("split", "test") <= 0.25
    train = {_norm(r["query"]) for r in rows if r["split"] == "train"}
    assert not [r["query"] for r in rows if r["split"] == "test" and _norm(r["query"]) in train]


def test_shipped_weights_were_trained_on_the_shipped_query_set():
    weights = json.loads(router_train.WEIGHTS_PATH.read_text(encoding="utf-8"))
    assert weights["data_sha256"] == router_train.data_hash(), "stale: python -m vrag.retrievers.router_train"
    assert weights["model_id"] == "sentence-transformers:all-MiniLM-L6-v2"
    assert router_train.main(["--check"]) == 0


def test_check_fails_on_stale_weights(tmp_path, monkeypatch, capsys):
    stale = json.loads(router_train.WEIGHTS_PATH.read_text(encoding="utf-8"))
    stale["data_sha256"] = "0" * 64
    path = tmp_path / "router_weights.json"
    path.write_text(json.dumps(stale), encoding="utf-8")
    monkeypatch.setattr(router_train, "WEIGHTS_PATH", path)
    assert router_train.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().err


def test_held_out_accuracy(embedder):
    result = router_train.evaluate(embedder)
    assert result["n_test"] == sum(sum(row.values()) for row in result["confusion"].values()) >= 90
    assert result["level_accuracy"] >= MIN_LEVEL_ACCURACY, result
    assert result["global_accuracy"] >= MIN_GLOBAL_ACCURACY, result
    assert result["real"]["n_test"] >= 100 and result["real"]["level_accuracy"] >= MIN_REAL_LEVEL_ACCURACY, result


UNSEEN = [
    ("in what year was the observatory built?", "naive", False),
    ("how much does the premium plan cost", "naive", False),
    ("how is the startup connected to the university across the videos", "graph", False),
    ("which videos feature both Obama and Merkel", "graph", False),
    ("what did the speaker say right after the live demo", "hybrid", False),
    ("what's shown on screen when the results come in", "hybrid", False),
    ("summarize the meeting", "hybrid", True),
    ("what is this lecture about", "hybrid", True),
]


@pytest.mark.parametrize("query,level,is_global", UNSEEN)
def test_clear_unseen_queries_route_correctly(router, query, level, is_global):
    assert _norm(query) not in {_norm(r["query"]) for r in router_train.load_queries()}
    route = router.classify(query)
    assert (route.level, route.global_) == (level, is_global), route


def test_scores_are_probabilities(router):
    routes = router.classify_many(["who scored the goal", "what is this cartoon about", "who worked with whom"])
    for route in routes:
        assert isinstance(route, Route) and route.level in LEVELS
        assert set(route.scores) == set(LEVELS) and sum(route.scores.values()) == pytest.approx(1.0, abs=1e-5)
        assert 0.0 <= route.confidence <= 1.0 and route.confidence == route.scores[route.level]
        assert route.to_dict()["global"] is route.global_ and route.reason


def test_weights_from_another_embedding_model_are_refused(embedder):
    router = Router(embedder.embed, model_id="sentence-transformers:some-other-model")
    with pytest.raises(ConfigError, match="trained with text embedder"):
        router.classify("what year was it founded")


def test_missing_weights_are_a_config_error_and_nothing_loads_early(tmp_path):
    def embed(texts):
        raise AssertionError("must not embed without weights")

    router = Router(embed, weights=tmp_path / "missing.json")  # constructing touches nothing
    with pytest.raises(ConfigError, match="not found.*router_train"):
        router.classify("what year was it founded")


def test_malformed_weights_are_a_config_error(embedder, tmp_path):
    path = tmp_path / "router_weights.json"
    header = {"model_id": embedder.model_id, "lexical_features": list(LEXICAL_FEATURES)}  # no coefficients
    path.write_text(json.dumps(header), encoding="utf-8")
    with pytest.raises(ConfigError, match="malformed"):
        Router(embedder.embed, model_id=embedder.model_id, weights=path).classify("who won")


def test_llm_router_against_a_fake_server_and_its_fallback():
    """Plumbing of router=llm against a FAKE OpenAI-compatible server (no real model ships offline)."""
    from fake_chat_server import FakeOpenAIServer

    from vrag.backends.text_embed import text_embedder
    from vrag.retrievers.router_llm import LLMRouter

    replies = iter(['Sure! {"level": "graph", "global": false}', '{"level": "naive", "global": true}', "I think naive."])
    cfg = Config.load().replace(router="llm", llm_model="fake-llm", llm_retries=0, llm_timeout=5.0)
    embedder = text_embedder(cfg)
    learned = Router(embedder.embed, model_id=embedder.model_id)
    with FakeOpenAIServer(reply=lambda body, n: next(replies)) as server:
        router = LLMRouter(cfg.replace(llm_base_url=server.url), fallback=learned)
        first = router.classify("what links the mayor and the harbour project?")
        assert (first.level, first.global_, first.confidence) == ("graph", False, 1.0)
        assert "<question>what links the mayor" in server.requests[0]["messages"][-1]["content"]
        second = router.classify("summarize the meeting")
        assert (second.level, second.global_) == ("hybrid", True)  # a global question is never naive
        third = router.classify("what year was the bridge finished?")
        assert "llm router at" in third.reason and third.level == learned.classify("what year was the bridge finished?").level
