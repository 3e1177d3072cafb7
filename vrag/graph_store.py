"""The knowledge-graph store: per-video extractions in ``mentions``, the resolved graph in
``entities`` and ``relations``.

Each video's extraction (mentions and relations with their segment ids) is replaced as a
unit when the video's text changes, and deleted with the video. The resolved graph is
rebuilt from all extractions after an index run, so cross-video entities, merges and
provenance are always consistent: an entity or relation with no provenance left is gone.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Sequence

from .store import SEGMENTS, Store, sql_quote

__all__ = ["MENTIONS", "ENTITIES", "RELATIONS", "replace_extraction", "rebuild_graph", "needs_rebuild", "find_entity",
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
    with store._lock:
        table = store._open(MENTIONS) or store.db.create_table(MENTIONS, schema=_mention_schema(), exist_ok=True)
        table.delete(f"video_id = {sql_quote(video_id)}")
        if rows:
            table.add(pa.Table.from_pylist(rows, schema=_mention_schema()))


_RECIPE_KEY = b"vrag.graph_recipe"


def _recipe(similarity: float, model_id: str) -> str:
    from vrag.indexers.graph_extract import VERSION

    return json.dumps({"version": VERSION, "similarity": similarity, "embedder": model_id}, sort_keys=True)


def needs_rebuild(store: Store, similarity: float, model_id: str) -> bool:
    """True when extractions exist but the graph was built from other settings (or not at all)."""
    if store._open(MENTIONS) is None:
        return False
    entities = store._open(ENTITIES)
    stored = (entities.schema.metadata or {}).get(_RECIPE_KEY) if entities is not None else None
    return stored is None or stored.decode() != _recipe(similarity, model_id)


def rebuild_graph(store: Store, embed: Any, similarity: float = 0.9, model_id: str = "") -> tuple[int, int]:
    """Resolve every stored extraction into ``entities`` and ``relations``; returns their counts.

    ``similarity``: cosine above which near-duplicate names of one type merge (1 disables);
    ``model_id`` names the embedder, recorded with the settings so :func:`needs_rebuild` can tell.
    """
    import pyarrow as pa

    from vrag.indexers.graph_extract import Mention, Relation
    from vrag.indexers.graph_resolve import merge_similar, resolve

    table = store._open(MENTIONS)
    rows = table.to_arrow().to_pylist() if table is not None else []
    video_of: dict[str, str] = {}
    mentions, relations = [], []
    name_parts: set[tuple[str, str]] = set()  # (video, first or last name of a full PERSON name there)
    for row in rows:
        if row["kind"] == "mention" and row["type"] == "PERSON" and " " in row["key"]:
            name_parts |= {(row["video_id"], row["key"].split()[0]), (row["video_id"], row["key"].split()[-1])}
    for row in rows:
        segs = set(json.loads(row["segments"]))
        for s in segs:
            video_of[s] = row["video_id"]
        if row["kind"] == "mention":
            mentions.append(Mention(row["name"], row["type"], row["key"], segs, _scope(row, name_parts)))
        else:
            relations.append((row["video_id"], Relation(row["key"], row["target"], row["type"], row["weight"], segs)))
    entities, index = resolve(_merge_same(mentions), [r for _v, r in relations], video_of)
    vectors = _name_vectors(store, [e.name for e in entities], embed, model_id)
    entities, vectors, remap = merge_similar(entities, vectors, similarity)
    spans = _spans(store, set(video_of.values()))
    ids_of: dict[str, list[tuple[str, str]]] = {}  # key -> [(scope, entity_id)]
    for (key, _type, scope), ident in index.items():
        ids_of.setdefault(key, []).append((scope, remap.get(ident, ident)))
    ent_rows = []
    for entity, vector in zip(entities, vectors):
        prov = sorted((spans[s] for s in entity.segments if s in spans), key=lambda p: (p[1], p[2]))
        ent_rows.append({
            "entity_id": entity.entity_id, "name": entity.name, "type": entity.type,
            "aliases": json.dumps(sorted(entity.aliases)), "description": _description(entity.name, prov),
            "vector": [float(x) for x in vector],
            "videos": json.dumps(sorted({p[1] for p in prov})),
            "provenance": json.dumps([{"segment_id": p[0], "video_id": p[1], "start": p[2], "end": p[3]} for p in prov]),
        })
    rel_acc: dict[tuple[str, str, str], dict[str, Any]] = {}
    for video, r in relations:
        sources = {i for scope, i in ids_of.get(r.source, ()) if scope in ("", video)}
        targets = {i for scope, i in ids_of.get(r.target, ()) if scope in ("", video)}
        for src in sources:
            for tgt in targets:
                if src == tgt:
                    continue
                acc = rel_acc.setdefault((src, tgt, r.type), {"weight": 0.0, "segments": set()})
                acc["weight"] += r.weight
                acc["segments"] |= r.segments
    rel_rows = [
        {"source": s, "target": t, "type": kind, "weight": acc["weight"],
         "provenance": json.dumps([{"segment_id": p[0], "video_id": p[1], "start": p[2], "end": p[3]}
                                   for p in sorted(spans[x][:4] for x in acc["segments"] if x in spans)])}
        for (s, t, kind), acc in rel_acc.items()
    ]
    dim = len(ent_rows[0]["vector"]) if ent_rows else 384
    ent_schema = pa.schema([
        pa.field("entity_id", pa.string()), pa.field("name", pa.string()), pa.field("type", pa.string()),
        pa.field("aliases", pa.string()), pa.field("description", pa.string()),
        pa.field("vector", pa.list_(pa.float32(), dim)),
        pa.field("videos", pa.string()), pa.field("provenance", pa.string()),
    ], metadata={_RECIPE_KEY: _recipe(similarity, model_id).encode()})
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


def _name_vectors(store: Store, names: list[str], embed: Any, model_id: str) -> Any:
    """Vectors of entity names: reused from the current graph when it was built with the same
    embedder (most names survive a rebuild), embedded for the rest."""
    import numpy as np

    known: dict[str, Any] = {}
    entities = store._open(ENTITIES)
    if entities is not None and model_id and _built_with(entities, model_id):
        data = entities.to_arrow().select(["name", "vector"])
        known = dict(zip(data.column("name").to_pylist(), data.column("vector").to_numpy(zero_copy_only=False)))
    missing = sorted({n for n in names if n not in known})
    if missing:
        known.update(zip(missing, embed(missing)))
    return np.asarray([known[n] for n in names], dtype=np.float32) if names else np.zeros((0, 1), np.float32)


def _built_with(entities: Any, model_id: str) -> bool:
    """True when the stored entity vectors come from the embedder ``model_id``."""
    stored = (entities.schema.metadata or {}).get(_RECIPE_KEY)
    try:
        return stored is not None and json.loads(stored.decode()).get("embedder") == model_id
    except ValueError:
        return False


def _scope(row: dict[str, Any], name_parts: set[tuple[str, str]]) -> str:
    """A lone "Curie" means whichever Curie its video talks about, so it stays per video: a one-word
    PERSON, or a capitalised one-word concept (the tagger missed the name) that is part of a full
    name in the same video."""
    if " " in row["key"]:
        return ""
    if row["type"] == "PERSON" or (row["type"] == "CONCEPT" and row["name"][:1].isupper()
                                   and (row["video_id"], row["key"]) in name_parts):
        return row["video_id"]
    return ""


def _merge_same(mentions: list[Any]) -> list[Any]:
    """One mention per (key, type, scope) across videos, segments united."""
    out: dict[tuple[str, str, str], Any] = {}
    for m in mentions:
        if m.node in out:
            out[m.node].segments |= m.segments
        else:
            out[m.node] = m
    return list(out.values())


def _description(name: str, prov: list[tuple[str, str, float, float, str]]) -> str:
    """Where the entity is first named: the earliest sentence or screen line that contains its name."""
    if not prov:
        return ""
    low = name.lower()
    named = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.I)
    best = ""
    for row in prov:  # in time order; stop at the first piece that names it
        if low in row[4].lower():
            best = next((p for p in re.split(r"\n|(?<=[.!?])\s+", row[4]) if named.search(p)), "")
            if best:
                break
    best = best or next((p for p in re.split(r"\n|(?<=[.!?])\s+", prov[0][4]) if p.strip()), "")
    best = " ".join(best.split())
    return best if len(best) <= 240 else best[:239].rsplit(" ", 1)[0] + "…"


def _spans(store: Store, videos: set[str]) -> dict[str, tuple[str, str, float, float, str]]:
    """segment id -> (segment id, video id, start, end, text) for the segments of ``videos``."""
    table = store._open(SEGMENTS)
    if table is None or not videos:
        return {}
    data = table.to_arrow().select(["segment_id", "video_id", "start", "end", "text"]).to_pylist()
    return {r["segment_id"]: (r["segment_id"], r["video_id"], r["start"], r["end"], r["text"])
            for r in data if r["video_id"] in videos}


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
        cached = _GRAPHS.get(str(store.path))
        if cached is not None and cached[0] == stamp:
            return cached[1]
    graph = _build_networkx(entities, relations)
    with _GRAPHS_LOCK:
        _GRAPHS[str(store.path)] = (stamp, graph)
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
