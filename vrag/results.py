"""What :meth:`KnowledgeBase.search <vrag.kb.KnowledgeBase.search>` and ``ask`` return: typed results
whose ``to_json()`` is the stable JSON contract (``vrag search --json``, ``vrag ask --json``)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .schema import Answer, Hit

if TYPE_CHECKING:
    from vrag.retrievers.adaptive import Retrieval

__all__ = ["AskResult", "SearchResult"]


class _ReadByKey:
    """Transitional: ``result["hits"]`` reads the JSON form, as when results were dicts (deprecated)."""

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        warnings.warn(f"result[{key!r}] is deprecated: read the attribute, or .to_json()[{key!r}]",
                      DeprecationWarning, stacklevel=2)
        return self.to_json()[key]

    def get(self, key: str, default: Any = None) -> Any:
        """Deprecated like ``result[key]``: ``.to_json().get(key, default)``."""
        warnings.warn(f"result.get({key!r}) is deprecated: read the attribute, or .to_json().get({key!r})",
                      DeprecationWarning, stacklevel=2)
        return self.to_json().get(key, default)


@dataclass
class SearchResult(_ReadByKey):
    """The hits for a query, best first, and how they were found.

    ``route`` is the level that produced them (``naive``, ``hybrid``, ``graph``; ``visual`` for an
    image-only search) with the router's ``confidence``; ``escalated`` when a weaker level was tried
    first. ``retrieval`` is the text retrieval behind them (routing, the levels tried); ``None`` for
    an image-only search, whose JSON then has no ``global``/``weak``/``routing``/``steps``.
    """

    query: str
    route: str
    confidence: float
    escalated: bool
    hits: list[Hit]
    retrieval: Retrieval | None = None
    #: the query picture: its path, ``"<array>"`` for pixels, ``None`` without one
    image: str | None = None

    @property
    def global_(self) -> bool:
        """An overview question: the hits cover whole videos rather than the single best moments."""
        return bool(self.retrieval is not None and self.retrieval.global_)

    @property
    def weak(self) -> bool:
        """Even the last level tried found only weak evidence."""
        return bool(self.retrieval is not None and self.retrieval.weak)

    @property
    def routing(self) -> dict[str, Any]:
        """The router's decision (``{}`` for an image-only search)."""
        return self.retrieval.routing if self.retrieval is not None else {}

    @property
    def steps(self) -> list[dict[str, Any]]:
        """Each level tried: ``{"level", "hits", "weak"}`` (``weak`` says why, "" when fine)."""
        return self.retrieval.steps if self.retrieval is not None else []

    def to_json(self) -> dict[str, Any]:
        """``{"query", "route", "confidence", "escalated", "hits", ["global", "weak", "routing", "steps"],
        ["image"]}`` (stable contract)."""
        out: dict[str, Any] = {"query": self.query, "route": self.route, "confidence": self.confidence,
                               "escalated": self.escalated, "hits": [h.to_json() for h in self.hits]}
        if self.retrieval is not None:
            out.update({"global": self.global_, "weak": self.weak, "routing": self.routing, "steps": self.steps})
        if self.image is not None:
            out["image"] = self.image
        return out


@dataclass
class AskResult(_ReadByKey):
    """An answer to ``question`` (``answer.text``, ``answer.citations``) and the search it read."""

    question: str
    search: SearchResult
    answer: Answer

    @property
    def text(self) -> str:
        return self.answer.text

    @property
    def citations(self) -> list[dict[str, Any]]:
        """``[{"video_id", "path", "start", "end"}]``: where each quoted piece is."""
        return self.answer.citations

    @property
    def found(self) -> bool:
        """False when the videos do not answer the question ("Not found in the indexed videos.")."""
        return self.answer.found

    @property
    def route(self) -> str:
        return self.search.route

    @property
    def hits(self) -> list[Hit]:
        return self.search.hits

    def to_json(self) -> dict[str, Any]:
        """``{"question", "route", "answer", "citations", "hits", "found", "generator", "dropped_citations",
        "confidence", "escalated"}`` (stable contract)."""
        a, s = self.answer, self.search
        return {"question": self.question, "route": s.route, "answer": a.text, "citations": a.citations,
                "hits": [h.to_json() for h in s.hits], "found": a.found, "generator": a.generator,
                "dropped_citations": a.dropped, "confidence": s.confidence, "escalated": s.escalated,
                "answer_short": a.short}
