"""Rebuilding the resolved graph (``entities`` and ``relations``) from every stored extraction.

Memory stays bounded as the corpus grows: segment ids are numbered (in id order, so sorting
numbers sorts ids) and kept column-wise, extraction rows are read a batch at a time (relations
only after entities are resolved), and each table is streamed to LanceDB as record batches in
one commit. About 0.9 GB peak at 100k segments and 6.3 GB at 1M (BENCHMARKS.md).

``relations`` is written before ``entities``: the entities table carries the build recipe and the
version of ``mentions`` it was built from, so a build cut short, or a run killed between writing
an extraction and rebuilding, leaves them stale and :func:`vrag.graph_store.needs_rebuild` asks
for the build again.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Iterable, Iterator

from .graph_store import _recipe
from .store import MENTIONS, Store

__all__ = ["rebuild_graph"]

#: Extraction rows read per batch.
CHUNK = 50_000
_SENTENCE = re.compile(r"\n|(?<=[.!?])\s+")


class _VideoOf:
    """segment number -> video id, with the ``dict.get`` that ``resolve`` uses."""

    def __init__(self, videos: list[str]):
        self.videos = videos

    def get(self, seg: Any, default: Any = None) -> Any:
        return self.videos[seg] if isinstance(seg, int) and 0 <= seg < len(self.videos) else default


class _Segments:
    """The segments table column-wise, addressed by segment number."""

    def __init__(self, store: Store):
        import pyarrow.compute as pc

        data = store.segments.arrow(["segment_id", "video_id", "start", "end", "text"])
        if data is None or data.num_rows == 0:
            self.ids: list[str] = []
            self.videos: list[str] = []
            self.starts: list[float] = []
            self.ends: list[float] = []
            self.texts: Any = []
        else:
            data = data.take(pc.sort_indices(data, [("segment_id", "ascending")]))
            self.ids = data.column("segment_id").to_pylist()
            self.videos = [sys.intern(v) for v in data.column("video_id").to_pylist()]
            self.starts = data.column("start").to_pylist()
            self.ends = data.column("end").to_pylist()
            self.texts = data.column("text").combine_chunks()
        self.number = {s: i for i, s in enumerate(self.ids)}

    def numbers(self, segments_json: str) -> set[int]:
        return {self.number[s] for s in json.loads(segments_json) if s in self.number}

    def span(self, i: int) -> dict[str, Any]:
        return {"segment_id": self.ids[i], "video_id": self.videos[i], "start": self.starts[i], "end": self.ends[i]}

    def text(self, i: int) -> str:
        return self.texts[i].as_py()


def rebuild_graph(store: Store, embed: Any, similarity: float = 0.9, model_id: str = "") -> tuple[int, int]:
    """Resolve every stored extraction into ``entities`` and ``relations``; returns their counts.

    ``similarity``: cosine above which near-duplicate names of one type merge (1 disables);
    ``model_id`` names the embedder, recorded with the settings so ``needs_rebuild`` can tell.
    """
    from vrag.indexers.graph_resolve import merge_similar

    version = store.graph.version(MENTIONS)
    source = str(version) if version is not None else ""  # before reading: later writes mean rebuild again
    segs = _Segments(store)
    mention_rows, relation_rows = _split(store.graph.extraction_arrow())
    entities, index = _resolve(mention_rows, relation_rows, segs)
    del mention_rows
    vectors = _name_vectors(store, [e.name for e in entities], embed, model_id)
    entities, vectors, remap = merge_similar(entities, vectors, similarity)
    ids_of: dict[str, list[tuple[str, str]]] = {}  # key -> [(scope, entity_id)]
    for (key, _type, scope), ident in index.items():
        ids_of.setdefault(key, []).append((scope, remap.get(ident, ident)))
    del index
    rel_acc = _relations(relation_rows, ids_of, segs)
    del relation_rows
    n_relations = store.graph.write_relations(_relation_rows_out(rel_acc, segs))
    rel_acc.clear()
    dim = int(vectors.shape[1]) if len(vectors) else 384
    n_entities = store.graph.write_entities(_entity_rows(entities, vectors, segs), dim,
                                            _recipe(similarity, model_id), source)
    return n_entities, n_relations


def _split(data: Any) -> tuple[Any, Any]:
    """Extraction rows (Arrow) split into mention rows and relation rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if data is None or data.num_rows == 0:
        empty = pa.table({"video_id": pa.array([], pa.string())})
        return empty, empty
    is_mention = pc.equal(data.column("kind"), "mention")
    return data.filter(is_mention), data.filter(pc.invert(is_mention))


def _resolve(mention_rows: Any, relation_rows: Any, segs: _Segments) -> tuple[list[Any], dict[Any, str]]:
    """Entities from the mentions (``alias_of`` relations merge names), and the index
    (key, type, scope) -> entity id."""
    from vrag.indexers.graph_extract import Mention, Relation
    from vrag.indexers.graph_resolve import resolve

    name_parts: set[tuple[str, str]] = set()  # (video, first or last name of a full PERSON name there)
    for batch in _batches(mention_rows, ["video_id", "key", "type"]):
        for row in batch:
            if row["type"] == "PERSON" and " " in row["key"]:
                parts = row["key"].split()
                name_parts |= {(row["video_id"], parts[0]), (row["video_id"], parts[-1])}
    mentions = [Mention(row["name"], row["type"], row["key"], segs.numbers(row["segments"]), _scope(row, name_parts))
                for batch in _batches(mention_rows) for row in batch]
    aliases = [Relation(r["key"], r["target"], r["type"], r["weight"], segs.numbers(r["segments"]))
               for batch in _batches(relation_rows) for r in batch if r["type"] == "alias_of"]
    return resolve(_merge_same(mentions), aliases, _VideoOf(segs.videos))


def _relations(relation_rows: Any, ids_of: dict[str, list[tuple[str, str]]],
               segs: _Segments) -> dict[tuple[str, str, str], list[Any]]:
    """(source, target, type) -> [weight, segment numbers], over every extracted relation whose
    ends resolved to entities (of the same video, or unscoped)."""
    rel_acc: dict[tuple[str, str, str], list[Any]] = {}
    for batch in _batches(relation_rows):
        for r in batch:
            video = r["video_id"]
            sources = {i for scope, i in ids_of.get(r["key"], ()) if scope in ("", video)}
            targets = {i for scope, i in ids_of.get(r["target"], ()) if scope in ("", video)}
            if not sources or not targets:
                continue
            numbers = segs.numbers(r["segments"])
            kind = sys.intern(r["type"])
            for src in sources:
                for tgt in targets:
                    if src != tgt:
                        acc = rel_acc.setdefault((src, tgt, kind), [0.0, set()])
                        acc[0] += r["weight"]
                        acc[1] |= numbers
    return rel_acc


def _relation_rows_out(rel_acc: dict[tuple[str, str, str], list[Any]], segs: _Segments) -> Iterator[dict[str, Any]]:
    for (src, tgt, kind), (weight, numbers) in rel_acc.items():
        yield {"source": src, "target": tgt, "type": kind, "weight": weight,
               "provenance": json.dumps([segs.span(i) for i in sorted(numbers)])}


def _entity_rows(entities: list[Any], vectors: Any, segs: _Segments) -> Iterator[dict[str, Any]]:
    for entity, vector in zip(entities, vectors):
        order = sorted(entity.segments, key=lambda i: (segs.videos[i], segs.starts[i], i))
        yield {
            "entity_id": entity.entity_id, "name": entity.name, "type": entity.type,
            "aliases": json.dumps(sorted(entity.aliases)),
            "description": _description(entity.name, (segs.text(i) for i in order)),
            "vector": vector, "videos": json.dumps(sorted({segs.videos[i] for i in order})),
            "provenance": json.dumps([segs.span(i) for i in order]),
        }


def _batches(rows: Any, columns: list[str] | None = None) -> Iterator[list[dict[str, Any]]]:
    """An Arrow table's rows as lists of dicts, :data:`CHUNK` at a time."""
    for batch in rows.to_batches(max_chunksize=CHUNK):
        yield (batch.select(columns) if columns else batch).to_pylist()


def _name_vectors(store: Store, names: list[str], embed: Any, model_id: str) -> Any:
    """Vectors of entity names: reused from the current graph when it was built with the same
    embedder (most names survive a rebuild), embedded for the rest."""
    import numpy as np

    known: dict[str, Any] = {}
    if model_id and _built_with(store.graph.build_info().get("recipe"), model_id):
        known = store.graph.name_vectors()
    missing = sorted({n for n in names if n not in known})
    if missing:
        known.update(zip(missing, embed(missing)))
    return np.asarray([known[n] for n in names], dtype=np.float32) if names else np.zeros((0, 1), np.float32)


def _built_with(recipe: str | None, model_id: str) -> bool:
    """True when the graph built with ``recipe`` has entity vectors from the embedder ``model_id``."""
    try:
        return recipe is not None and json.loads(recipe).get("embedder") == model_id
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


def _description(name: str, texts: Iterable[str]) -> str:
    """Where the entity is first named: the earliest sentence or screen line (of ``texts``, in time
    order, read only as far as needed) that contains its name; else the first sentence of the first."""
    low = name.lower()
    named = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.I)
    first, best = None, ""
    for text in texts:
        first = text if first is None else first
        if low in text.lower():
            best = next((p for p in _SENTENCE.split(text) if named.search(p)), "")
            if best:
                break
    best = best or next((p for p in _SENTENCE.split(first or "") if p.strip()), "")
    best = " ".join(best.split())
    return best if len(best) <= 240 else best[:239].rsplit(" ", 1)[0] + "…"
