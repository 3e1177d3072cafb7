"""Retrievers: ``retrieve(query, k, filters) -> list[Hit]`` over a knowledge base's stores."""

from .fusion import rrf
from .naive import NaiveRetriever
from .visual import VisualRetriever

__all__ = ["NaiveRetriever", "VisualRetriever", "rrf"]
