"""Retrievers: ``retrieve(query, k, filters) -> list[Hit]`` over a knowledge base's stores."""

from .naive import NaiveRetriever

__all__ = ["NaiveRetriever"]
