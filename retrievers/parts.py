"""Questions in several parts: "What is the SPF of the advertised moisturizer, and how many pairs of
twins were in the study on the NIH slide?" asks two things, often about two videos. Each part is
searched and answered on its own, and the answers are shown one after the other, each under its
part; the evidence of both is listed together (:func:`merge`).

A question splits where ", and" (or ";", or "and" before a new question word) starts a new question:
"..., and how many ...", "...; which ...". A conjunction inside one question ("said in the
voice-over and listed on the card", "the Kennedy speech and the NIH talk") is no split, nor is a
part of fewer than :data:`MIN_WORDS` words ("What did Glenn say, and why?"), nor a question of more
than :data:`MAX_PARTS` parts (a list, or a hostile query: each part would be one more search).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from vrag.schema import Answer

if TYPE_CHECKING:
    from vrag.results import AskResult

__all__ = ["question_parts", "merge", "MIN_WORDS", "MAX_PARTS"]

#: A part shorter than this (in words) leans on the rest of the question: no split.
MIN_WORDS = 4
#: More parts than this is no question but a list (or a hostile query): asked as one.
MAX_PARTS = 4
_WH = r"(?:what|which|who|whom|whose|where|when|why|how)\b"
_SPLIT = re.compile(r"\s*(?:,\s*and|;\s*(?:and)?|\s+and)\s+(?=" + _WH + ")", re.I)
_QUESTION_START = re.compile(r"^\W*(?:" + _WH + r"|(?:is|are|was|were|do|does|did|can|could|has|have|will|would)\b)",
                             re.I)


def question_parts(question: str) -> list[str]:
    """The questions ``question`` asks, each a question of its own; ``[question]`` when it asks one."""
    text = " ".join(question.split())
    pieces = [p.strip(" ,;") for p in _SPLIT.split(text)]
    if not 2 <= len(pieces) <= MAX_PARTS or not _QUESTION_START.match(pieces[0]) or any(
            len(p.split()) < MIN_WORDS for p in pieces):
        return [question]
    return [_as_question(p) for p in pieces]


def _as_question(part: str) -> str:
    part = part.rstrip(" ?.!") + "?"
    return part[:1].upper() + part[1:]


def merge(question: str, answered: list["AskResult"], k: int) -> "AskResult":
    """One result for a question asked in parts: each part's answer under the part ("How many ...?"),
    the citations of all, the short answers joined by "; ", and the parts' hits taken in turn (``k``
    in all, each record once)."""
    from vrag.results import AskResult, SearchResult

    lines: list[str] = []
    citations: list[dict] = []
    for result in answered:
        lines += [result.question, *result.answer.text.splitlines()]
        citations += [c for c in result.answer.citations if c not in citations]
    shorts = [r.answer.short for r in answered]
    answer = Answer("\n".join(lines), citations, found=any(r.found for r in answered),
                    generator=answered[0].answer.generator, dropped=sum(r.answer.dropped for r in answered),
                    short="; ".join(shorts) if all(shorts) else "")
    hits, seen = [], set()
    for rank in range(max(len(r.hits) for r in answered)):
        for result in answered:
            if rank < len(result.hits) and result.hits[rank].segment.segment_id not in seen and len(hits) < k:
                seen.add(result.hits[rank].segment.segment_id)
                hits.append(result.hits[rank])
    first = answered[0].search
    retrieval = first.retrieval
    if retrieval is not None:
        retrieval.routing = dict(retrieval.routing, parts=[r.question for r in answered])
    search = SearchResult(question, first.route, min(r.search.confidence for r in answered),
                          any(r.search.escalated for r in answered), hits, retrieval)
    return AskResult(question, search, answer)
