"""Reading the knowledge graph: whether it needs a rebuild, entity lookup, networkx, export.

Its tables (per-video extractions in ``mentions``, the resolved graph in ``entities`` and
``relations``) are ``store.graph`` (:class:`vrag.store.GraphTables`). Each video's extraction is
replaced as a unit when the video's text changes, and deleted with the video. The resolved graph
is rebuilt from all extractions after an index run (:mod:`vrag.graph_build`), so cross-video
entities, merges and provenance are always consistent: an entity or relation with no
provenance left is gone.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from .store import ENTITIES, MENTIONS, RELATIONS, Store

__all__ = ["MENTIONS", "ENTITIES", "RELATIONS", "needs_rebuild", "find_entity", "to_networkx", "export_graph"]


def _recipe(similarity: float, model_id: str) -> str:
    from vrag.indexers.graph_extract import VERSION

    return json.dumps({"version": VERSION, "similarity": similarity, "embedder": model_id}, sort_keys=True)


def needs_rebuild(store: Store, similarity: float, model_id: str) -> bool:
    """True when extractions exist but the graph was built from other settings, from an older
    state of the extractions (an interrupted run), or not at all. The graph records the version
    of ``mentions`` it was built from: a run killed between writing a video's extraction and
    rebuilding the graph leaves them different, and the next run rebuilds."""
    mentions = store.graph.version(MENTIONS)
    if mentions is None:
        return False
    info = store.graph.build_info()
    if info.get("recipe") != _recipe(similarity, model_id):
        return True
    source = info.get("source")
    return source is not None and source != str(mentions)


def find_entity(store: Store, name: str) -> dict[str, Any] | None:
    """The entity named ``name`` (or with it as an alias), case-insensitive, with its relations."""
    rows = store.graph.entities()
    if not rows:
        return None
    wanted = name.strip().lower()
    match = next((r for r in rows if r["name"].lower() == wanted), None) or next(
        (r for r in rows if wanted in (a.lower() for a in json.loads(r["aliases"]))), None
    )
    if match is None:
        return None
    names = {r["entity_id"]: r["name"] for r in rows}
    neighbours = []
    for r in store.graph.relations():
        if match["entity_id"] in (r["source"], r["target"]):
            other = r["target"] if r["source"] == match["entity_id"] else r["source"]
            neighbours.append({"entity": names.get(other, other), "type": r["type"], "weight": r["weight"],
                               "direction": "out" if r["source"] == match["entity_id"] else "in"})
    neighbours.sort(key=lambda n: (n["type"] == "co_occurs", -n["weight"]))
    return {
        "entity_id": match["entity_id"], "name": match["name"], "type": match["type"],
        "aliases": json.loads(match["aliases"]), "description": match.get("description", ""), "videos": json.loads(match["videos"]),
        "appearances": json.loads(match["provenance"]), "neighbours": neighbours,
    }


_GRAPHS: dict[str, tuple[tuple[int, int], Any]] = {}
_GRAPHS_LOCK = threading.Lock()


def to_networkx(store: Store) -> Any:
    """The resolved graph as a ``networkx.MultiDiGraph`` (nodes: entities; edges: typed relations).

    Built once per table version and cached for the process: any index change that rebuilds the
    graph makes the next call build a fresh one. Treat the result as read-only.
    """
    versions = (store.graph.version(ENTITIES), store.graph.version(RELATIONS))
    stamp = (versions[0] if versions[0] is not None else -1, versions[1] if versions[1] is not None else -1)
    with _GRAPHS_LOCK:
        cached = _GRAPHS.get(store.uri)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    graph = _build_networkx(store)
    with _GRAPHS_LOCK:
        _GRAPHS[store.uri] = (stamp, graph)
    return graph


def _build_networkx(store: Store) -> Any:
    from .registry import require

    nx = require("networkx", "The knowledge graph", "graph")
    graph = nx.MultiDiGraph()
    for row in store.graph.entities():
        graph.add_node(
            row["entity_id"], name=row["name"], type=row["type"], aliases=json.loads(row["aliases"]),
            description=row.get("description", ""),
            videos=json.loads(row["videos"]), provenance=json.loads(row["provenance"]),
        )
    for row in store.graph.relations():
        graph.add_edge(row["source"], row["target"], key=row["type"], type=row["type"], weight=row["weight"],
                       provenance=json.loads(row["provenance"]))
    return graph


def export_graph(store: Store, path: str, fmt: str) -> tuple[int, int]:
    """Write the graph as GraphML (list attributes as JSON text) or node-link JSON; returns (nodes, edges)."""
    from .errors import ConfigError
    from .registry import require

    nx = require("networkx", "Graph export", "graph")
    graph = to_networkx(store)
    if fmt == "json":
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(nx.node_link_data(graph, edges="edges"), fh, ensure_ascii=False, indent=1)
    elif fmt == "graphml":
        flat = graph.copy()
        for _, data in flat.nodes(data=True):
            for key in ("aliases", "videos", "provenance"):
                data[key] = json.dumps(data[key], ensure_ascii=False)  # GraphML has no list type
        for _, _, data in flat.edges(data=True):
            data["provenance"] = json.dumps(data["provenance"], ensure_ascii=False)
        nx.write_graphml(flat, path)
    else:
        raise ConfigError(f"graph export format {fmt!r}: valid: graphml, json")
    return graph.number_of_nodes(), graph.number_of_edges()
