"""vrag as a LangChain retriever: ``kb.as_langchain_retriever(k=5)`` drops into any chain.

Each hit becomes a ``Document`` whose ``page_content`` is the hit's text and whose metadata holds
the hit's fields (video_id, path, start, end, modality, score, why, signals) plus the route taken.
Import this module only when LangChain is wanted (``KnowledgeBase.as_langchain_retriever`` does,
after checking that ``langchain-core`` is installed).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

__all__ = ["VragRetriever"]


class VragRetriever(BaseRetriever):
    """Retrieves timestamped evidence from a vrag knowledge base."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    kb: Any
    k: int = 5
    mode: str = "auto"
    filters: dict[str, Any] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, mode: str | None = None,
                                filters: dict[str, Any] | None = None) -> list[Document]:
        """``invoke(query, k=3)`` (and ``mode=``, ``filters=``) override the retriever's own for one call."""
        result = self.kb.search(query, k=self.k if k is None else k, mode=mode or self.mode,
                                filters=self.filters if filters is None else filters)
        return [
            Document(page_content=hit["text"],
                     metadata={**{key: value for key, value in hit.items() if key != "text"}, "route": result.route})
            for hit in result.to_json()["hits"]  # metadata: the hit's JSON fields, as ``vrag search --json``
        ]
