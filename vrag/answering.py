"""How :meth:`vrag.kb.KnowledgeBase.ask` answers: search, then the library's list of videos for a
question about the collection, else the configured generator over the hits (with their context);
a question in several parts is searched and answered part by part (:mod:`vrag.retrievers.parts`)."""

from __future__ import annotations

from typing import Any

from .results import AskResult, SearchResult

__all__ = ["answer_question"]


def answer_question(kb: Any, question: str, k: int, mode: str, filters: dict[str, Any] | None,
                    speaker: str | None) -> AskResult:
    """The answer to a (checked, non-empty) ``question`` from ``kb`` (a :class:`vrag.kb.KnowledgeBase`)."""
    from vrag.backends.text_embed import text_embedder
    from vrag.retrievers.generate import with_context
    from vrag.retrievers.parts import merge, question_parts

    from .registry import resolve

    result = kb.search(question, k=k, mode=mode, filters=filters, speaker=speaker)
    if result.route == "library":  # about the collection: every matching video, with its evidence
        from vrag.retrievers.library import compose_answer

        return AskResult(question, result, compose_answer(question, result.retrieval))
    generator = resolve("generator", kb.config.generator).from_config(kb.config, text_embedder(kb.config))

    def answered(asked: str, found: SearchResult) -> AskResult:
        evidence = with_context(kb.store, found.hits) if generator.name == "extractive" else found.hits
        return AskResult(asked, found, generator.answer(asked, evidence, overview=found.global_, weak=found.weak))

    parts = question_parts(question)  # "What is the SPF ..., and how many twin pairs ...?": each on its own
    if len(parts) > 1:
        return merge(question, [answered(p, kb.search(p, k=k, mode=mode, filters=filters, speaker=speaker))
                                for p in parts], k)
    return answered(question, result)
