"""LangChain's own standard retriever suite (``langchain-tests``' ``RetrieversIntegrationTests``) run against
vrag's retriever at every retrieval level, on a real knowledge base (the lecture and the two Curie clips of
``qa_kb``: speech, screen text, shots and the graph, more records than any k below).

The suite checks ``k`` given to the constructor and to ``invoke(query, k=...)``, that exactly k documents come
back when the store has that many, and ``ainvoke``."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_tests", reason="LangChain's standard tests need langchain-tests (the dev extra)")

from langchain_tests.integration_tests import RetrieversIntegrationTests  # noqa: E402

from vrag.retrievers.langchain_adapter import VragRetriever  # noqa: E402

#: the suite's one async test (``ainvoke``) runs on pytest-asyncio (a langchain-tests dependency); the mark
#: reaches the suite's sync tests too, where pytest-asyncio notes that it does nothing
pytestmark = [pytest.mark.asyncio, pytest.mark.filterwarnings("ignore:The test <Function:pytest.PytestWarning")]

_KB: list[Any] = []


@pytest.fixture(autouse=True, scope="module")
def _kb(qa_kb):
    _KB[:] = [qa_kb]
    yield
    _KB.clear()


class _VragStandard(RetrieversIntegrationTests):
    mode = "auto"
    query = "Marie Curie discovered polonium in Paris"

    @property
    def retriever_constructor(self) -> type[VragRetriever]:
        return VragRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"kb": _KB[0], "mode": self.mode}

    @property
    def retriever_query_example(self) -> str:
        return self.query


class TestAuto(_VragStandard):
    mode = "auto"


class TestNaive(_VragStandard):
    mode = "naive"


class TestHybrid(_VragStandard):
    mode = "hybrid"


class TestGraph(_VragStandard):
    mode = "graph"


class TestGraphByName(_VragStandard):
    """A query that is little more than a name the graph knows: few records mention it."""

    mode = "graph"
    query = "Sorbonne"


class TestHybridRareWords(_VragStandard):
    """Words only one record holds: the rest must come from the vector ranking."""

    mode = "hybrid"
    query = "Vatnajokull"


@pytest.mark.parametrize("mode, query", [("hybrid", "Vatnajokull"), ("graph", "Sorbonne"),
                                         ("graph", "Marie Curie discovered polonium in Paris")])
def test_hybrid_and_graph_give_exactly_k_keeping_their_own_ranking_first(qa_kb, mode, query):
    """The level's own hits lead, in their order; the best vector hits they lack follow (records not shown
    at all before those only inside a merged hit); no record is a hit twice."""
    retrieval = qa_kb._retriever()
    for k in (1, 4, 8):
        own = retrieval._run(mode, query, k, None, False)
        hits = qa_kb.search(query, k=k, mode=mode).hits
        assert len(hits) == k, (mode, query, k)
        ids = [h.segment.segment_id for h in hits]
        assert ids[: len(own)] == [h.segment.segment_id for h in own]
        assert len(set(ids)) == k
        parts = {p["segment_id"] for h in hits[: len(own)] for p in h.segment.meta.get("parts", ())}
        inside = [sid in parts for sid in ids[len(own):]]
        assert inside == sorted(inside)  # records not yet shown first; those inside a merged hit only to make k
