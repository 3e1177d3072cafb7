"""The knowledge-graph store: per-video extractions in ``mentions``, the resolved graph in
``entities`` and ``relations``.

Each video's extraction (mentions and relations with their segment ids) is replaced as a
unit when the video's text changes, and deleted with the video. The resolved graph is
rebuilt from all extractions after an index run (:mod:`vrag.graph_build`), so cross-video
entities, merges and provenance are always consistent: an entity or relation with no
provenance left is gone.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Sequence

from .store import Store, sql_quote

__all__ = ["MENTIONS", "ENTITIES", "RELATIONS", "replace_extraction", "needs_rebuild", "find_entity",
           "to_networkx", "export_graph"]

MENTIONS = "mentions"
ENTITIES = "entities"
RELATIONS = "relations"


def _mention_schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        pa.field("video_id", pa.string()), pa.field("kind", pa.string()), pa.field("key", pa.string()),
        pa.field("type", pa.string()), pa.field("name", pa.string()), pa.field("target", pa.string()),
        pa.field("weight", pa.float64()), pa.field("segments", pa.string()),
    ])


def replace_extraction(store: Store, video_id: str, mentions: Sequence[Any], relations: Sequence[Any]) -> None:
    """Make these the mentions and relations extracted from ``video_id``."""
    import pyarrow as pa

    rows = [
        {"video_id": video_id, "kind": "mention", "key": m.key, "type": m.type, "name": m.name, "target": "",
         "weight": float(len(m.segments)), "segments": json.dumps(sorted(m.segments))}
        for m in mentions
    ] + [
        {"video_id": video_id, "kind": "relation", "key": r.source, "type": r.type, "name": "", "target": r.target,
         "weight": float(r.weight), "segments": json.dumps(sorted(r.segments))}
        for r in relations
    ]
    with store._lock, store.writing():
        table = mentions_table(store)
        store.retry_conflicts(f"replacing the graph extraction of video {video_id[:12]}",
                              lambda: table.delete(f"video_id = {sql_quote(video_id)}"))
        if rows:
            data = pa.Table.from_pylist(rows, schema=_mention_schema())
            store.retry_conflicts(f"writing the graph extraction of video {video_id[:12]}", lambda: table.add(data))


def mentions_table(store: Store) -> Any:
    """The ``mentions`` table, created (empty) if it does not exist yet."""
    return store._open(MENTIONS) or store.db.create_table(MENTIONS, schema=_mention_schema(), exist_ok=True)


_RECIPE_KEY = b"vrag.graph_recipe"


def _recipe(similarity: float, model_id: str) -> str:
    from vrag.indexers.graph_extract import VERSION

    return json.dumps({"version": VERSION, "similarity": similarity, "embedder": model_id}, sort_keys=True)


#: The ``mentions`` table version a graph was built from: a run killed between writing a video's
#: extraction and rebuilding the graph leaves them different, and the next run rebuilds.
_SOURCE_KEY = b"vrag.graph_source"


def needs_rebuild(store: Store, similarity: float, model_id: str) -> bool:
    """True when extractions exist but the graph was built from other settings, from an older
    state of the extractions (an interrupted run), or not at all."""
    mentions = store._open(MENTIONS)
    if mentions is None:
        return False
    entities = store._open(ENTITIES)
    meta = (entities.schema.metadata or {}) if entities is not None else {}
    stored = meta.get(_RECIPE_KEY)
    if stored is None or stored.decode() != _recipe(similarity, model_id):
        return True
    source = meta.get(_SOURCE_KEY)
    return source is not None and source.decode() != str(mentions.version)


def find_entity(store: Store, name: str) -> dict[str, Any] | None:
    """The entity named ``name`` (or with it as an alias), case-insensitive, with its relations."""
    table = store._open(ENTITIES)
    if table is None:
        return None
    wanted = name.strip().lower()
    rows = table.to_arrow().drop(["vector"]).to_pylist()
    match = next((r for r in rows if r["name"].lower() == wanted), None) or next(
        (r for r in rows if wanted in (a.lower() for a in json.loads(r["aliases"]))), None
    )
    if match is None:
        return None
    names = {r["entity_id"]: r["name"] for r in rows}
    rels = store._open(RELATIONS)
    neighbours = []
    for r in (rels.to_arrow().to_pylist() if rels is not None else []):
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
    entities = store._open(ENTITIES)
    relations = store._open(RELATIONS)
    stamp = (entities.version if entities is not None else -1, relations.version if relations is not None else -1)
    with _GRAPHS_LOCK:
        cached = _GRAPHS.get(store.uri)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    graph = _build_networkx(entities, relations)
    with _GRAPHS_LOCK:
        _GRAPHS[store.uri] = (stamp, graph)
    return graph


def _build_networkx(entities: Any, relations: Any) -> Any:
    from .registry import require

    nx = require("networkx", "The knowledge graph", "graph")
    graph = nx.MultiDiGraph()
    for row in (entities.to_arrow().drop(["vector"]).to_pylist() if entities is not None else []):
        graph.add_node(
            row["entity_id"], name=row["name"], type=row["type"], aliases=json.loads(row["aliases"]),
            description=row.get("description", ""),
            videos=json.loads(row["videos"]), provenance=json.loads(row["provenance"]),
        )
    for row in (relations.to_arrow().to_pylist() if relations is not None else []):
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
