"""The knowledge-graph store: per-video extractions in ``mentions``, the resolved graph in
``entities`` and ``relations``.

Each video's extraction (mentions and relations with their segment ids) is replaced as a
unit when the video's text changes, and deleted with the video. The resolved graph is
rebuilt from all extractions after an index run, so cross-video entities, merges and
provenance are always consistent: an entity or relation with no provenance left is gone.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from .store import SEGMENTS, Store, sql_quote

__all__ = ["MENTIONS", "ENTITIES", "RELATIONS", "replace_extraction", "rebuild_graph", "find_entity", "to_networkx", "export_graph"]

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
    with store._lock:
        table = store._open(MENTIONS) or store.db.create_table(MENTIONS, schema=_mention_schema(), exist_ok=True)
        table.delete(f"video_id = {sql_quote(video_id)}")
        if rows:
            table.add(pa.Table.from_pylist(rows, schema=_mention_schema()))


def rebuild_graph(store: Store, embed: Any) -> tuple[int, int]:
    """Resolve every stored extraction into ``entities`` and ``relations``; returns their counts."""
    import pyarrow as pa

    from vrag.indexers.graph_extract import Mention, Relation
    from vrag.indexers.graph_resolve import resolve

    table = store._open(MENTIONS)
    rows = table.to_arrow().to_pylist() if table is not None else []
    video_of: dict[str, str] = {}
    mentions, relations = [], []
    for row in rows:
        segs = set(json.loads(row["segments"]))
        for s in segs:
            video_of[s] = row["video_id"]
        if row["kind"] == "mention":
            mentions.append(Mention(row["name"], row["type"], row["key"], segs))
        else:
            relations.append(Relation(row["key"], row["target"], row["type"], row["weight"], segs))
    entities, index = resolve(_merge_same(mentions), relations, video_of)
    spans = _spans(store, set(video_of.values()))
    by_key: dict[str, set[str]] = {}
    for (key, _type), ident in index.items():
        by_key.setdefault(key, set()).add(ident)
    vectors = embed([e.name for e in entities]) if entities else []
    ent_rows = []
    for entity, vector in zip(entities, vectors):
        prov = sorted((spans[s] for s in entity.segments if s in spans), key=lambda p: (p[1], p[2]))
        ent_rows.append({
            "entity_id": entity.entity_id, "name": entity.name, "type": entity.type,
            "aliases": json.dumps(sorted(entity.aliases)), "vector": [float(x) for x in vector],
            "videos": json.dumps(sorted({p[1] for p in prov})),
            "provenance": json.dumps([{"segment_id": p[0], "video_id": p[1], "start": p[2], "end": p[3]} for p in prov]),
        })
    rel_acc: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in relations:
        for src in by_key.get(r.source, ()):
            for tgt in by_key.get(r.target, ()):
                if src == tgt:
                    continue
                acc = rel_acc.setdefault((src, tgt, r.type), {"weight": 0.0, "segments": set()})
                acc["weight"] += r.weight
                acc["segments"] |= r.segments
    rel_rows = [
        {"source": s, "target": t, "type": kind, "weight": acc["weight"],
         "provenance": json.dumps([{"segment_id": p[0], "video_id": p[1], "start": p[2], "end": p[3]}
                                   for p in sorted(spans[x] for x in acc["segments"] if x in spans)])}
        for (s, t, kind), acc in rel_acc.items()
    ]
    dim = len(ent_rows[0]["vector"]) if ent_rows else 384
    ent_schema = pa.schema([
        pa.field("entity_id", pa.string()), pa.field("name", pa.string()), pa.field("type", pa.string()),
        pa.field("aliases", pa.string()), pa.field("vector", pa.list_(pa.float32(), dim)),
        pa.field("videos", pa.string()), pa.field("provenance", pa.string()),
    ])
    rel_schema = pa.schema([
        pa.field("source", pa.string()), pa.field("target", pa.string()), pa.field("type", pa.string()),
        pa.field("weight", pa.float64()), pa.field("provenance", pa.string()),
    ])
    with store._lock:
        existing = store._tables()
        for name, data in ((ENTITIES, pa.Table.from_pylist(ent_rows, schema=ent_schema)),
                           (RELATIONS, pa.Table.from_pylist(rel_rows, schema=rel_schema))):
            store.db.create_table(name, data, mode="overwrite" if name in existing else "create")
    return len(ent_rows), len(rel_rows)


def _merge_same(mentions: list[Any]) -> list[Any]:
    """One mention per (key, type) across videos, segments united."""
    out: dict[tuple[str, str], Any] = {}
    for m in mentions:
        if (m.key, m.type) in out:
            out[(m.key, m.type)].segments |= m.segments
        else:
            out[(m.key, m.type)] = m
    return list(out.values())


def _spans(store: Store, videos: set[str]) -> dict[str, tuple[str, str, float, float]]:
    table = store._open(SEGMENTS)
    if table is None or not videos:
        return {}
    data = table.to_arrow().select(["segment_id", "video_id", "start", "end"]).to_pylist()
    return {r["segment_id"]: (r["segment_id"], r["video_id"], r["start"], r["end"]) for r in data if r["video_id"] in videos}


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
        "aliases": json.loads(match["aliases"]), "videos": json.loads(match["videos"]),
        "appearances": json.loads(match["provenance"]), "neighbours": neighbours,
    }


def to_networkx(store: Store) -> Any:
    """The resolved graph as a ``networkx.MultiDiGraph`` (nodes: entities; edges: typed relations)."""
    from .registry import require

    nx = require("networkx", "Graph export", "graph")
    graph = nx.MultiDiGraph()
    entities = store._open(ENTITIES)
    relations = store._open(RELATIONS)
    for row in (entities.to_arrow().drop(["vector"]).to_pylist() if entities is not None else []):
        graph.add_node(
            row["entity_id"], name=row["name"], type=row["type"], aliases=json.loads(row["aliases"]),
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
