"""Graph retrieval: link the query's entities to graph nodes, expand up to two hops, and score
the segments that support the nodes and relations on the way.

Linking: the query's names and noun phrases (spaCy, as at index time) and its word n-grams are
matched against entity names and aliases by key; phrases that match nothing are matched by name
vector (cosine >= :data:`LINK_MIN`). Scoring: a segment that supports a relation on a path
between two query entities scores highest, then segments naming a query entity, then those
supporting a relation to a neighbour (typed relations count more than co-occurrence), decaying
with each hop. Every hit says which entity or path justified it.
"""

from __future__ import annotations

import json
import re
import threading
from itertools import combinations
from typing import Any

from vrag.config import Config
from vrag.graph_store import ENTITIES, to_networkx
from vrag.schema import Hit, Segment
from vrag.store import Store

from .evidence import merge_adjacent, mmr
from .naive import record_filter
from .query_terms import STOP_WORDS, matched, terms

__all__ = ["GraphRetriever", "link_entities"]

#: Name-vector similarity needed to link a query phrase to an entity it does not spell out.
LINK_MIN = 0.8
#: Score factors: on a path between query entities, naming one, a relation from one (per hop).
PATH, MENTION, HOP = 2.0, 1.0, 0.5
#: co_occurs edges say less than a typed relation ("discovered", "works at").
CO_OCCURS = 0.4
#: Neighbours expanded per node (strongest edges first), to bound the work on hub entities.
FANOUT = 25
#: Entities a query may link at most (best link score first, then the most mentioned).
MAX_SEEDS = 8
_WORD = re.compile(r"[^\W_][\w'&-]*")
_INDEX: dict[str, tuple[int, dict[str, list[str]]]] = {}
_INDEX_LOCK = threading.Lock()


def _key_index(store: Store) -> dict[str, list[str]]:
    """entity key (of each name and alias) -> entity ids; cached per entities-table version."""
    from vrag.indexers.graph_extract import entity_key

    version = store.graph.version(ENTITIES)
    if version is None:
        return {}
    with _INDEX_LOCK:
        cached = _INDEX.get(store.uri)
        if cached is not None and cached[0] == version:
            return cached[1]
    index: dict[str, list[str]] = {}
    for row in store.graph.entities(["entity_id", "name", "aliases"]):
        for name in [row["name"], *json.loads(row["aliases"])]:
            key = entity_key(name)
            if key and row["entity_id"] not in index.get(key, []):
                index.setdefault(key, []).append(row["entity_id"])
    with _INDEX_LOCK:
        _INDEX[store.uri] = (version, index)
    return index


def link_entities(store: Store, query: str, embed: Any) -> dict[str, float]:
    """Entity ids the query names, with a link score in (0, 1]."""
    from vrag.indexers.graph_extract import entity_key, extract

    index = _key_index(store)
    if not index:
        return {}
    linked: dict[str, float] = {}
    mentions, _ = extract([("query", query)])
    tokens = _WORD.findall(query.lower())
    covered: set[int] = set()  # query words already inside a linked name
    unlinked = []
    for m in mentions:
        for ident in index.get(m.key, []):
            linked[ident] = 1.0
        if m.key not in index:
            unlinked.append(m.name)
        else:
            covered |= _span_of(_WORD.findall(m.name.lower()), tokens)
    for n in (4, 3, 2, 1):  # word n-grams, longest first, not inside a longer match nor edged by stop words
        for i in range(len(tokens) - n + 1):
            gram = tokens[i : i + n]
            if gram[0] in STOP_WORDS or gram[-1] in STOP_WORDS or covered & set(range(i, i + n)):
                continue
            ids = index.get(entity_key(" ".join(gram)), [])
            for ident in ids:
                linked[ident] = 1.0
            if ids:
                covered |= set(range(i, i + n))
    if unlinked:  # "the Duke team" -> Duke, "dementias" -> dementia: by name vector
        for vector in embed(unlinked):
            for ident, score in store.graph.search_entities(vector, 3):
                if score >= LINK_MIN:
                    linked[ident] = max(linked.get(ident, 0.0), score)
    if len(linked) > MAX_SEEDS:  # a lone surname links one scoped entity per video: keep the best known
        graph = to_networkx(store)
        size = lambda e: len(graph.nodes[e]["provenance"]) if e in graph else 0  # noqa: E731
        linked = dict(sorted(linked.items(), key=lambda kv: (-kv[1], -size(kv[0])))[:MAX_SEEDS])
    return linked


def _span_of(words: list[str], tokens: list[str]) -> set[int]:
    """Token positions of the first occurrence of ``words`` in ``tokens`` (empty if absent)."""
    n = len(words)
    for i in range(len(tokens) - n + 1):
        if n and tokens[i : i + n] == words:
            return set(range(i, i + n))
    return set()


class GraphRetriever:
    def __init__(self, store: Store, cfg: Config, embedder: Any):
        self.store = store
        self.cfg = cfg
        self.embedder = embedder

    def retrieve(self, query: str, k: int = 10, filters: dict[str, Any] | None = None) -> list[Hit]:
        import numpy as np

        seeds = link_entities(self.store, query, self.embedder.embed)
        if not seeds:
            return []
        graph = to_networkx(self.store)
        scores: dict[str, float] = {}
        reasons: dict[str, tuple[float, str, str]] = {}  # the strongest: (score, why, entity path or "")

        def support(provenance: list[dict[str, Any]], score: float, reason: str, on_path: str = "") -> None:
            for p in provenance:
                sid = p["segment_id"]
                scores[sid] = scores.get(sid, 0.0) + score
                if score > reasons.get(sid, (0.0, "", ""))[0]:
                    reasons[sid] = (score, reason, on_path)

        name = lambda node: graph.nodes[node].get("name", node)  # noqa: E731
        for a, b in combinations([s for s in seeds if s in graph], 2):
            for path in _paths(graph, a, b):
                label = _describe(graph, path, name)
                for u, v in zip(path, path[1:]):
                    for _kind, data in _edges(graph, u, v):
                        support(data["provenance"], PATH * seeds[a] * seeds[b], f"graph: path {label}", label)
        for seed, link in seeds.items():
            if seed not in graph:
                continue
            support(graph.nodes[seed]["provenance"], MENTION * link, f"graph: mentions {name(seed)}")
            frontier = [(seed, link)]
            for hop in (1, 2):
                nxt = []
                for node, weight in frontier:
                    for other, kind, data, factor in _neighbours(graph, node)[:FANOUT]:
                        score = weight * HOP ** hop * factor
                        src, dst = (node, other) if data.get("_out") else (other, node)
                        support(data["provenance"], score, f"graph: {name(src)} -[{kind}]-> {name(dst)}")
                        if kind != "co_occurs":  # the second hop follows typed relations only
                            nxt.append((other, weight * factor))
                frontier = nxt
        if not scores:
            return []
        top = sorted(scores, key=lambda s: -scores[s])[: max(50, 5 * k)]
        segs = self._segments(top, filters, query)
        paths = self.store.videos.paths({s.video_id for s in segs})
        best = max(scores[s.segment_id] for s in segs) if segs else 1.0
        qvec = np.asarray(self.embedder.embed([query])[0], dtype=np.float32)
        words = terms(query)
        hits = sorted(
            (Hit(s, scores[s.segment_id], f"{reasons[s.segment_id][1]} ({s.modality})", paths.get(s.video_id, s.uri),
                 {"graph": scores[s.segment_id] / best,
                  "similarity": float(np.asarray(s.vector, dtype=np.float32) @ qvec) if s.vector else 0.0,
                  "words": len(matched(words, s.text)) / len(words) if words else 0.0}, reasons[s.segment_id][2])
             for s in segs),
            key=lambda h: -h.score,
        )
        return mmr(merge_adjacent(hits[: 2 * k]), k)

    def _segments(self, ids: list[str], filters: dict[str, Any] | None, query: str) -> list[Segment]:
        if not ids:
            return []
        return self.store.segments.read(record_filter(filters, query).narrow(segment_ids=tuple(ids)))


def _edges(graph: Any, u: str, v: str) -> list[tuple[str, dict[str, Any]]]:
    out = [(kind, data) for kind, data in (graph.get_edge_data(u, v) or {}).items()]
    return out + [(kind, data) for kind, data in (graph.get_edge_data(v, u) or {}).items()]


def _neighbours(graph: Any, node: str) -> list[tuple[str, str, dict[str, Any], float]]:
    """The node's :data:`FANOUT` strongest edges as (other node, relation, edge data, factor),
    strongest first; edge data gets ``_out``. Computed once per node and kept on the graph, which
    is cached read-only per table version (a hub can have thousands of edges)."""
    import heapq

    cache = graph.graph.setdefault("_top_neighbours", {})
    top = cache.get(node)
    if top is None:
        out = [(other, kind, dict(data, _out=True), _factor(kind, data))
               for _, other, kind, data in graph.out_edges(node, keys=True, data=True)]
        out += [(other, kind, dict(data, _out=False), _factor(kind, data))
                for other, _, kind, data in graph.in_edges(node, keys=True, data=True)]
        top = cache[node] = heapq.nlargest(FANOUT, out, key=lambda item: item[3])
    return top


def _factor(kind: str, data: dict[str, Any]) -> float:
    import math

    strength = min(1.0, 0.5 + 0.25 * math.log1p(float(data.get("weight", 1.0))))
    return strength * (CO_OCCURS if kind == "co_occurs" else 1.0)


def _paths(graph: Any, a: str, b: str) -> list[list[str]]:
    """Shortest paths of at most two hops between ``a`` and ``b`` (edges in either direction):
    the direct edge if there is one, else up to 10 paths through a common neighbour."""
    around = lambda n: set(graph.successors(n)) | set(graph.predecessors(n))  # noqa: E731
    near = around(a)
    if b in near:
        return [[a, b]]
    return [[a, c, b] for c in sorted(near & around(b))][:10]


def _describe(graph: Any, path: list[str], name: Any) -> str:
    parts = [name(path[0])]
    for u, v in zip(path, path[1:]):
        kinds = [kind for kind, _ in _edges(graph, u, v)]
        typed = [k for k in kinds if k != "co_occurs"]
        parts.append(f"-[{(typed or kinds or ['?'])[0]}]- {name(v)}")
    return " ".join(parts)
