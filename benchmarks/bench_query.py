"""Query latency benchmark: ``python -m benchmarks.bench_query --sizes 10000,1000000 --out BENCHMARKS.md``.

For each size N it builds (or, with ``--keep DIR``, reuses) a knowledge base of N synthetic
ASR/OCR-like text segments over N/500 videos, with a knowledge graph and the store's own
indexes (``Store.finish_writes``: full-text index always, IVF-PQ vector index and scalar
indexes from ``ANN_MIN_ROWS`` rows), then measures the latency of each retrieval route with the
models already loaded (no LLM anywhere): naive, hybrid, graph, and ``auto``
(``KnowledgeBase.search``, router + escalation), p50/p95/max over ~40 queries drawn from the
vocabulary, plus the recall of the approximate vector index against an exact search.

Text comes from the seeded generator of :mod:`benchmarks.textgen` (people, organisations, places
and domain concepts with acronyms, each video with its own Zipf-skewed cast). The generator's
draws are recorded, so each segment's entities are known without running spaCy: the graph is
built from synthetic extraction rows (mentions, co-occurrence and typed verb relations) through
``replace_extraction`` and ``graph_build.rebuild_graph`` as the pipeline does. Vectors: the real MiniLM on
every text up to ``--embed-max`` segments (default 20,000); above that, every sentence's vector is
composed from MiniLM vectors of its parts (its template with the names blanked out, and each name
or concept it contains), which the small run validates against the real vectors.

Build (generate + write, graph, indexes) and measurement each run in a fresh process (peak memory
and model loading are their own); a query still running after ``--timeout`` seconds is stopped and
reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from benchmarks.common import Clock, Section, TimedEmbed, child_json, command_line, measured, rss_mb
from benchmarks.textgen import Video, Vocabulary

__all__ = ["SECTION", "main"]

SECTION = Section("<!-- bench-query:begin -->", "<!-- bench-query:end -->")
#: Segments per video.
PER_VIDEO = 500
#: Up to this many segments every text is embedded with MiniLM; above, vectors are composed.
EMBED_MAX = 20_000
#: Weight of a sentence's template vector against each of its entity vectors in a composed vector
#: (chosen on the 10k set: it maximises the mean cosine with the real MiniLM vectors).
TEMPLATE_WEIGHT = 0.5
#: Latency targets at 1M segments, p50, ms (issue 5).
TARGETS = {"naive": 100.0, "hybrid": 250.0, "graph": 500.0}
ROUTES = ("naive", "hybrid", "graph", "auto")
_PARTS = ("query embedding", "vector search", "full-text search", "other store reads")
_BUILD_FILE = "bench_query_build.json"
_ROWS_PER_WRITE = 100_000

_LEMMA = {
    "increases": "increase", "reduces": "reduce", "predicts": "predict", "explains": "explain", "affects": "affect",
    "drives": "drive", "limits": "limit", "improves": "improve", "causes": "cause", "prevents": "prevent",
    "changes": "change", "amplifies": "amplify", "shapes": "shape", "modulates": "modulate", "triggers": "trigger",
    "supports": "support", "studied": "study", "measured": "measure", "discovered": "discover",
    "described": "describe", "analysed": "analyse", "modelled": "model", "criticised": "criticise",
    "proposed": "propose", "tested": "test", "replicated": "replicate", "introduced": "introduce",
    "challenged": "challenge", "mapped": "map", "reviewed": "review", "funded": "fund", "leads": "lead",
    "presented": "present", "published": "publish", "partnered": "partner with", "join": "join",
    "compared": "compare", "used": "use",
}
_VERB_RE = re.compile(r"\b(" + "|".join(sorted(_LEMMA, key=len, reverse=True)) + r")\b")


# -- synthetic text with known entities -----------------------------------------------------
class _Tracked(Video):
    """A generated video's cast (:class:`benchmarks.textgen.Video`), recording every name it draws
    as (surface, type, name)."""

    def __init__(self, vocab: Vocabulary, rng: random.Random):
        super().__init__(vocab, rng)
        self.log: list[tuple[str, str, str]] = []

    def person(self) -> str:
        s = super().person()
        self.log.append((s, "PERSON", re.sub(r"^(?:Dr\.|Professor) ", "", s)))
        return s

    def surname(self) -> str:
        s = super().surname()
        self.log.append((s, "PERSON", s))
        return s

    def org(self) -> str:
        s = super().org()
        self.log.append((s, "ORG", re.sub(r"^the ", "", s)))
        return s

    def place(self) -> str:
        s = super().place()
        self.log.append((s, "GPE", re.sub(r"^the ", "", s)))
        return s

    def concept(self, define: bool = True) -> str:
        s = super().concept(define)
        if s.endswith(")") and " (" in s:
            long, short = s[:-1].split(" (")
            self.log.append((s, "DEFINED", long + "|" + short))
        elif s.isupper():
            self.log.append((s, "ACRONYM", s))
        else:
            self.log.append((s, "CONCEPT", s))
        return s


def _found(log: list[tuple[str, str, str]], text: str) -> list[tuple[int, int, str, str, str]]:
    """The logged draws that made it into ``text`` (retried draws did not), as
    (start, end, surface, type, name), in text order, one per surface."""
    out, seen = [], set()
    for surface, kind, name in sorted(set(log), key=lambda x: -len(x[0])):
        if surface in seen:
            continue
        flags = 0 if kind == "ACRONYM" else re.I
        m = re.search(r"(?<![\w-])" + re.escape(surface) + r"(?![\w-])", text, flags)
        if m and not any(s <= m.start() < e for s, e, *_ in out):
            seen.add(surface)
            out.append((m.start(), m.end(), surface, kind, name))
    return sorted(out)


class _Extraction:
    """One video's mentions and relations, built as ``graph_extract.extract`` would record them."""

    def __init__(self) -> None:
        self.mentions: dict[tuple[str, str], Any] = {}
        self.relations: dict[tuple[str, str, str], Any] = {}

    def mention(self, name: str, kind: str, seg: str) -> str:
        from vrag.indexers.graph_extract import Mention, entity_key

        key = entity_key(name)
        m = self.mentions.setdefault((key, kind), Mention(name, kind, key))
        m.segments.add(seg)
        return key

    def relate(self, a: str, b: str, kind: str, seg: str) -> None:
        from vrag.indexers.graph_extract import Relation

        if a == b:
            return
        if kind == "co_occurs":
            a, b = sorted((a, b))
        r = self.relations.setdefault((a, b, kind), Relation(a, b, kind, 0.0))
        r.weight += 1.0
        r.segments.add(seg)

    def record(self, seg: str, parts: list[tuple[str, list[tuple[int, int, str, str, str]]]]) -> None:
        """One extraction record (a speech segment: its sentences; a slide line): mentions, acronym
        aliases, a subject-verb-object relation between the nearest names around each verb within a
        sentence, and co-occurrence of every pair of names in the record."""
        keys: set[str] = set()
        for text, found in parts:
            spans = []
            for start, end, _surface, kind, name in found:
                if kind == "DEFINED":
                    long, short = name.split("|")
                    key = self.mention(long, "CONCEPT", seg)
                    self.relate(self.mention(short, "ACRONYM", seg), key, "alias_of", seg)
                else:
                    key = self.mention(name, kind, seg)
                spans.append((start, end, key))
                keys.add(key)
            for verb in _VERB_RE.finditer(text):
                before = [k for s, e, k in spans if e <= verb.start()]
                after = [k for s, e, k in spans if s >= verb.end()]
                if before and after:
                    self.relate(before[-1], after[0], _LEMMA[verb.group(1)], seg)
        ordered = sorted(keys)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                self.relate(a, b, "co_occurs", seg)


def _video_id(i: int) -> str:
    import hashlib

    return hashlib.blake2b(f"bench-query-video-{i}".encode(), digest_size=16).hexdigest()


def _skeleton(text: str, found: list[tuple[int, int, str, str, str]]) -> str:
    """The sentence's template: names blanked out, numbers generic."""
    out, last = [], 0
    for start, end, *_ in found:
        out.append(text[last:start])
        out.append("X")
        last = end
    out.append(text[last:])
    return re.sub(r"\d+(?:\.\d+)?", "N", "".join(out)).lower()


class Corpus:
    """N segments over N/500 videos: columns for the segments table, each segment's parts for
    composed vectors, and each video's extraction (written through ``sink``)."""

    def __init__(self, n: int, seed: int = 0, sink: Callable[[str, Any], None] | None = None):
        from vrag.schema import segment_id

        self.n = n
        self.videos = max(1, n // PER_VIDEO)
        self.vocab = Vocabulary(seed)
        cols: dict[str, list[Any]] = {k: [] for k in ("segment_id", "video_id", "uri", "start", "end", "modality",
                                                      "text", "producer")}
        self.lexicon: dict[str, int] = {}
        # composed vectors: part p belongs to segment part_seg[p] and sums lexicon entries part_lex[p]
        self.part_seg: list[int] = []
        self.part_lex: list[list[int]] = []
        self.video_rows: list[dict[str, Any]] = []
        self.mentions = self.relations = 0
        per, extra = divmod(n, self.videos)

        def lex(s: str) -> int:
            return self.lexicon.setdefault(s, len(self.lexicon))

        for v in range(self.videos):
            rng = random.Random(f"{seed}:{v}")
            video = _Tracked(self.vocab, rng)
            vid = _video_id(v)
            uri = f"/bench/videos/lecture_{v:05d}.mp4"
            ext = _Extraction()
            t = slide_t = 0.0
            for _ in range(per + (v < extra)):
                parts: list[tuple[str, list[tuple[int, int, str, str, str]]]] = []
                if rng.random() < 0.75:  # speech: one or two sentences, one extraction record
                    modality = "asr"
                    for _ in range(rng.choice((1, 1, 2))):
                        video.log.clear()
                        sentence = video.sentence()
                        parts.append((sentence, _found(video.log, sentence)))
                    text = " ".join(p for p, _ in parts)
                    start = t
                    end = t + round(len(text.split()) / 2.5, 2)
                    t = end + 0.3
                else:  # a slide: title and 1-3 lines, each line its own extraction record
                    modality = "ocr"
                    video.log.clear()
                    lines = video.slide()
                    parts = [(line, _found(video.log, line)) for line in lines]
                    text = "\n".join(lines)
                    slide_t = max(slide_t, t)
                    start, end = slide_t, slide_t + 20.0
                    slide_t = end
                producer = f"bench:{modality}"
                sid = segment_id(vid, modality, start, end, producer, text)
                for k, val in (("segment_id", sid), ("video_id", vid), ("uri", uri), ("start", start), ("end", end),
                               ("modality", modality), ("text", text), ("producer", producer)):
                    cols[k].append(val)
                row = len(cols["text"]) - 1
                if modality == "asr":  # speech is extracted whole, a slide line by line (as the pipeline does)
                    ext.record(sid, parts)
                for part, fs in parts:
                    if modality == "ocr":
                        ext.record(sid, [(part, fs)])
                    self.part_seg.append(row)
                    self.part_lex.append([lex(_skeleton(part, fs))] + [lex(f[2].lower()) for f in fs])
            self.mentions += len(ext.mentions)
            self.relations += len(ext.relations)
            if sink is not None:
                sink(vid, ext)
            self.video_rows.append({
                "video_id": vid, "path": f"videos/lecture_{v:05d}.mp4", "abs_path": uri, "size": 0, "mtime_ns": 0,
                "duration": max(t, slide_t), "fps": 25.0, "width": 1280, "height": 720, "has_video": True,
                "has_audio": True, "streams": "[]", "status": "indexed", "errors": "[]", "warnings": "[]",
                "recipe": "{}", "producers": json.dumps({"asr": "bench:asr", "ocr": "bench:ocr"}),
                "counts": json.dumps({"asr": cols["modality"][-(per + (v < extra)):].count("asr"),
                                      "ocr": cols["modality"][-(per + (v < extra)):].count("ocr")}),
                "indexed_at": datetime(2026, 1, 1, tzinfo=timezone.utc),
            })
        self.cols = cols

    def composed(self, lex_vectors: Any, weight: float = TEMPLATE_WEIGHT) -> Any:
        """Each segment's vector from its parts: sentence = weight * template + sum of its names,
        segment = sum of its unit sentence vectors, unit length."""
        import numpy as np
        import scipy.sparse as sp

        indptr = np.cumsum([0] + [len(p) for p in self.part_lex])
        indices = np.fromiter((i for p in self.part_lex for i in p), dtype=np.int64, count=int(indptr[-1]))
        data = np.ones(len(indices), dtype=np.float32)
        data[indptr[:-1]] = weight  # the first entry of every part is its template
        parts = sp.csr_matrix((data, indices, indptr), shape=(len(self.part_lex), len(self.lexicon)))
        out = np.zeros((self.n, lex_vectors.shape[1]), dtype=np.float32)
        step = 200_000
        seg = np.asarray(self.part_seg)
        for lo in range(0, parts.shape[0], step):
            pv = np.asarray(parts[lo:lo + step] @ lex_vectors, dtype=np.float32)
            pv /= np.maximum(np.linalg.norm(pv, axis=1, keepdims=True), 1e-9)
            np.add.at(out, seg[lo:lo + step], pv)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out


# -- building ----------------------------------------------------------------------------------
def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _table_sizes(db: Path) -> dict[str, dict[str, int]]:
    out = {}
    for table in sorted(db.glob("*.lance")):
        indices = table / "_indices"
        out[table.stem] = {"total": _du(table), "indices": _du(indices) if indices.is_dir() else 0}
    return out


def _latest_sizes(db: Path) -> dict[str, dict[str, int]]:
    """Sizes once old table versions are cleaned up (``optimize(cleanup_older_than=0)``: what the data and
    indexes themselves take)."""
    from datetime import timedelta

    lance = _lance(db)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "removes every version except the latest": what is wanted here
        for name in lance.list_tables().tables:
            lance.open_table(name).optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
    return _table_sizes(db)


def _lance(db: Path) -> Any:
    """The knowledge base's LanceDB, opened directly: the benchmark loads rows in bulk and times and
    cleans up LanceDB's own calls, which the store (rightly) does not offer."""
    import lancedb

    return lancedb.connect(str(db))


class _Timed:
    """Wraps LanceDB table methods in this process to time what ``finish_writes`` does inside."""

    def __init__(self, table_cls: Any, names: tuple[str, ...]):
        self.cls, self.names, self.calls = table_cls, names, []
        self.saved: dict[str, Any] = {}

    def __enter__(self) -> "_Timed":
        for name in self.names:
            original = getattr(self.cls, name)
            self.saved[name] = original

            def wrapper(table: Any, *args: Any, _name: str = name, _f: Any = original, **kw: Any) -> Any:
                started = time.perf_counter()
                try:
                    return _f(table, *args, **kw)
                finally:
                    what = args[0] if args and isinstance(args[0], str) else kw.get("vector_column_name", "")
                    if _name == "create_index" and "index_type" in kw:
                        what = f"{kw.get('vector_column_name', 'vector')} {kw['index_type']}"
                    elif _name == "create_index":
                        what = f"{what} FTS"
                    elif _name == "create_scalar_index":
                        what = f"{what} {kw.get('index_type', '')}"
                    self.calls.append({"table": table.name, "call": _name, "what": what.strip(),
                                       "s": time.perf_counter() - started})

            setattr(self.cls, name, wrapper)
        return self

    def __exit__(self, *exc: Any) -> None:
        for name, original in self.saved.items():
            setattr(self.cls, name, original)


def _build(n: int, db: Path, seed: int, embed_max: int, threads: int) -> dict[str, Any]:
    """In a fresh process: generate and write the segments, videos and per-video extraction."""
    from vrag.backends.text_embed import text_embedder
    from vrag.config import Config
    from vrag.store import Store

    cfg = Config.load(threads=threads)
    emb = text_embedder(cfg)
    store = Store(db)
    info: dict[str, Any] = {"segments": n, "seed": seed, "started": datetime.now(timezone.utc).isoformat(),
                            "build_threads": threads}
    corpus = _generate(n, seed, store, info)
    vectors = _vectors(corpus, emb, n <= embed_max, info)
    print(f"[build {n}] vectors ready ({info['vectors']}); writing segments ...", file=sys.stderr, flush=True)

    started = time.perf_counter()
    _write_rows(store, corpus, vectors, emb)
    info["write_segments_s"] = time.perf_counter() - started
    del vectors, corpus

    info["peak_rss_mb"] = rss_mb()
    return info


def _generate(n: int, seed: int, store: Any, info: dict[str, Any]) -> Corpus:
    """The corpus, each video's extraction written as it is generated (both timed into ``info``)."""
    extraction = Clock()
    written = [0]

    def sink(vid: str, ext: _Extraction) -> None:
        with extraction:
            store.graph.replace_extraction(vid, list(ext.mentions.values()), list(ext.relations.values()))
        written[0] += 1
        if written[0] % 200 == 0:
            print(f"[build {n}] {written[0]} videos generated, replace_extraction so far {extraction.wall:.0f} s",
                  file=sys.stderr, flush=True)

    started = time.perf_counter()
    corpus = Corpus(n, seed, sink)
    info["generate_s"] = time.perf_counter() - started - extraction.wall
    info["replace_extraction_s"] = extraction.wall
    info.update(videos=corpus.videos, vocabulary=corpus.vocab.size, lexicon=len(corpus.lexicon),
                parts=len(corpus.part_lex), video_mentions=corpus.mentions, video_relations=corpus.relations,
                asr=corpus.cols["modality"].count("asr"), ocr=corpus.cols["modality"].count("ocr"))
    print(f"[build {n}] generated in {info['generate_s']:.0f} s, extraction written in "
          f"{extraction.wall:.0f} s; embedding ...", file=sys.stderr, flush=True)
    return corpus


def _vectors(corpus: Corpus, emb: Any, real: bool, info: dict[str, Any]) -> Any:
    """The segments' vectors: MiniLM on every text when ``real`` (and the composed vectors checked
    against them), else composed from the embedded parts."""
    import numpy as np

    started = time.perf_counter()
    emb.embed(["warm up"])
    info["model_load_s"] = time.perf_counter() - started
    clock = Clock()
    with clock:
        lex_vectors = emb.embed(list(corpus.lexicon))
    info["embed_lexicon_s"] = clock.wall
    composed = corpus.composed(lex_vectors)
    if not real:
        info["vectors"] = "composed"
        return composed
    with Clock() as clock:
        vectors = emb.embed(corpus.cols["text"])
    info["embed_texts_s"] = clock.wall
    info["vectors"] = "minilm"
    cos = np.einsum("ij,ij->i", vectors, composed)
    info["composed_vs_real"] = {"mean": float(cos.mean()), "p10": float(np.percentile(cos, 10)),
                                "weight": TEMPLATE_WEIGHT}
    for w in (0.25, 0.5, 1.0, 1.5):  # how the template weight was chosen
        alt = corpus.composed(lex_vectors, w)
        info["composed_vs_real"][f"mean_w{w:g}"] = float(np.einsum("ij,ij->i", vectors, alt).mean())
    _neighbour_agreement(info, vectors, composed, corpus, emb)
    return vectors


def _write_rows(store: Any, corpus: Corpus, vectors: Any, emb: Any) -> None:
    """The segments (in batches of ``_ROWS_PER_WRITE``) and the videos rows."""
    import pyarrow as pa

    from vrag.store import SEGMENTS
    from vrag.store.videos import video_schema

    n = corpus.n
    store.segments.ensure(emb.model_id, emb.dim)  # the store's own table creation (schema, model id)
    store.videos.ensure()
    lance = _lance(store.path)
    table = lance.open_table(SEGMENTS)
    schema = table.schema
    meta = pa.array(["{}"] * min(n, _ROWS_PER_WRITE), pa.string())
    created = pa.array([datetime(2026, 1, 1, tzinfo=timezone.utc)] * min(n, _ROWS_PER_WRITE),
                       pa.timestamp("us", tz="UTC"))
    for lo in range(0, n, _ROWS_PER_WRITE):
        hi = min(n, lo + _ROWS_PER_WRITE)
        flat = pa.array(vectors[lo:hi].reshape(-1), type=pa.float32())
        batch = pa.table({
            **{k: pa.array(corpus.cols[k][lo:hi], schema.field(k).type)
               for k in ("segment_id", "video_id", "uri", "start", "end", "modality", "text")},
            "vector": pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]),
            "producer": pa.array(corpus.cols["producer"][lo:hi], pa.string()),
            "meta": meta[: hi - lo], "created_at": created[: hi - lo],
        }).select(schema.names).cast(schema)
        table.add(batch)
    lance.open_table("videos").add(pa.Table.from_pylist(corpus.video_rows, schema=video_schema()))


def _index(db: Path, info: dict[str, Any]) -> dict[str, Any]:
    """In a fresh process: ``Store.finish_writes`` (the indexes), timed step by step; then sizes on disk."""
    from vrag.store import SEGMENTS, Store

    store = Store(db)
    table = _lance(db).open_table(SEGMENTS)
    with _Timed(type(table), ("create_index", "create_scalar_index", "optimize")) as timed, Clock() as clock:
        store.finish_writes()
    info.update(finish_writes=clock.to_json(), finish_writes_s=clock.wall, index_steps=timed.calls,
                indices=[{"name": ix.name, "type": ix.index_type, "columns": list(ix.columns)}
                         for ix in _lance(db).open_table(SEGMENTS).list_indices()],
                rows=store.segments.count(), sizes=_table_sizes(db),
                index_peak_rss_mb=rss_mb(),
                finished=datetime.now(timezone.utc).isoformat())
    info["sizes_latest"] = _latest_sizes(db)
    (db / _BUILD_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


def _graph(db: Path, threads: int) -> dict[str, Any]:
    """In a fresh process (its peak memory is its own): resolve the stored extraction into the graph."""
    from vrag.backends.text_embed import text_embedder
    from vrag.config import Config
    from vrag.graph_build import rebuild_graph
    from vrag.store import Store

    cfg = Config.load(threads=threads)
    emb = text_embedder(cfg)
    emb.embed(["warm up"])
    store = Store(db)
    embed = TimedEmbed(emb.embed)
    rss0 = rss_mb()
    with Clock() as clock:
        entities, relations = rebuild_graph(store, embed, float(cfg.graph_merge_similarity), emb.model_id)
    return {**clock.to_json(), "how": "graph_build.rebuild_graph", "embed": embed.seconds, "names": embed.count,
            "entities": entities, "relations": relations, "rss_before_mb": rss0,
            "peak_rss_mb": rss_mb()}


def _neighbour_agreement(info: dict[str, Any], real: Any, composed: Any, corpus: Corpus, emb: Any) -> None:
    """How far exact search over the composed vectors finds what it finds over the real ones, for
    30 queries about names in the corpus (a name, "what is X", "how is X related to Y")."""
    import numpy as np

    rng = random.Random(7)
    inverse = {i: s for s, i in corpus.lexicon.items()}
    counts: dict[str, int] = {}
    pairs = []
    for lex in corpus.part_lex:
        names = [inverse[i] for i in lex[1:]]
        for n in names:
            counts[n] = counts.get(n, 0) + 1
        if len(names) >= 2:
            pairs.append((names[0], names[1]))
    common = sorted(n for n, c in counts.items() if c >= 3)
    names = rng.sample(common, 20)
    queries = names[:10] + [f"what is {n}" for n in names[10:]] + [
        f"how is {a} related to {b}" for a, b in rng.sample(pairs, 10)]
    q = emb.embed(queries)
    top10, in50 = [], []
    for row in q:
        top_r = set(np.argsort(-(real @ row))[:10])
        order_c = np.argsort(-(composed @ row))
        top10.append(len(top_r & set(order_c[:10])) / 10)
        in50.append(len(top_r & set(order_c[:50])) / 10)
    info["composed_vs_real"]["top10_overlap"] = float(np.mean(top10))
    info["composed_vs_real"]["top10_in_top50"] = float(np.mean(in50))


def _built(db: Path, n: int) -> dict[str, Any] | None:
    """The build record when ``db`` holds a finished knowledge base of ``n`` segments."""
    from vrag.store import SEGMENTS, Store

    record = db / _BUILD_FILE
    if not record.is_file():
        return None
    table = Store(db)._open(SEGMENTS)
    if table is None or table.count_rows() != n:
        return None
    return json.loads(record.read_text(encoding="utf-8"))


# -- queries and measurement -------------------------------------------------------------------
def _queries(graph: Any, count: int, seed: int) -> tuple[list[str], list[str]]:
    """``count`` measured queries (and a few warm-up ones) from the graph's entities: names,
    concepts, organisations and places, pairs ("how is X related to Y?") and fact questions."""
    rng = random.Random(seed)
    by_type: dict[str, list[tuple[int, str]]] = {}
    for _node, data in graph.nodes(data=True):
        by_type.setdefault(data["type"], []).append((len(data["provenance"]), data["name"]))

    def pick(kinds: tuple[str, ...], k: int, full_name: bool = False) -> list[str]:
        pool = sorted((c, n) for t in kinds for c, n in by_type.get(t, []) if c >= 3 and (" " in n or not full_name))
        pool = pool[len(pool) // 2:]  # the commoner half: the names people ask about
        return [n for _c, n in rng.sample(pool, min(k, len(pool)))]

    per = max(1, count // 5)
    people = pick(("PERSON",), 2 * per + 4, True)
    concepts = pick(("CONCEPT",), 3 * per + 4)
    places = pick(("ORG", "GPE"), per + 2)
    typed = [(u, v) for u, v, kind in graph.edges(keys=True) if kind not in ("co_occurs", "alias_of")]
    rng.shuffle(typed)
    name = lambda node: graph.nodes[node]["name"]  # noqa: E731
    pairs = [(name(u), name(v)) for u, v in typed[: per + 2]]
    out = (
        [f"{p}" for p in people[:per // 2]] + [f"who is {p}" for p in people[per // 2:per]]
        + [f"what is {c}" for c in concepts[:per // 2]] + [f"{c} results" for c in concepts[per // 2:per]]
        + [f"research at {o}" for o in places[:per]]
        + [f"how is {a} related to {b}?" for a, b in pairs[:per]]
        + [f"what did {p} find about {c}?" for p, c in zip(people[per:2 * per], concepts[per:2 * per])]
    )
    warm = [people[-1], f"what is {concepts[-1]}", f"how is {pairs[-1][0]} related to {pairs[-1][1]}?",
            f"research at {places[-1]}"]
    return out[:count], warm


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    pos = (len(s) - 1) * q
    lo = int(pos)
    return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (pos - lo)


def _summary(ms: list[float]) -> dict[str, float]:
    return {"p50": _pct(ms, 0.5), "p95": _pct(ms, 0.95), "max": max(ms), "mean": statistics.fmean(ms), "n": len(ms)}


class _Timeout(Exception):
    pass


def _bounded(fn: Callable[[str], Any], query: str, seconds: float) -> Any:
    """``fn(query)``, or None when it has not returned after ``seconds`` (stopped by SIGALRM: a
    pathological query must not stall the benchmark for hours; it is reported as stopped)."""
    import signal

    def stop(_signum: int, _frame: Any) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(query)
    except _Timeout:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _measure(db: Path, count: int, seed: int, repeat: int, profile: list[str], profile_dir: Path | None,
             threads: int | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """In a fresh process: load models, build the caches, then time every route over the queries."""
    from vrag.backends.text_embed import text_embedder
    from vrag.kb import KnowledgeBase

    kb = KnowledgeBase(db, threads=threads) if threads else KnowledgeBase(db)
    store, cfg = kb.store, kb.config
    emb = text_embedder(cfg)
    res: dict[str, Any] = {"load_start": os.getloadavg()[0], "threads": int(cfg.threads)}
    spent: dict[str, float] = {}  # seconds per component within the current query
    _instrument(emb, store, spent)
    graph = _warm_caches(kb, emb, res)
    queries, warm = _queries(graph, count, seed)
    res["queries"] = queries
    run = _routes(kb, emb)
    for q in warm:  # first calls: lazy opens, index caches, code paths
        for route in ROUTES:
            _bounded(run[route], q, timeout)
    res.update(_summarise_routes(_time_routes(run, queries, repeat, timeout, spent), timeout))
    res.update(_ann_recall(store, emb, queries))
    if profile:
        res["profiles"] = _profile_routes(run, queries, profile, profile_dir, timeout)
    res["load_end"] = os.getloadavg()[0]
    return res


def _instrument(emb: Any, store: Any, spent: dict[str, float]) -> None:
    """Where the time goes: instance attributes that shadow the methods the retrievers call and add
    their seconds to ``spent``."""

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0
        return wrapper

    emb.embed = timed("query embedding", emb.embed)  # before the router is made: it captures ``embed`` too
    segs = store.segments
    segs.vector_search = timed("vector search", segs.vector_search)  # type: ignore[method-assign]
    segs.fts_search = timed("full-text search", segs.fts_search)  # type: ignore[method-assign]
    store.videos.paths = timed("other store reads", store.videos.paths)  # type: ignore[method-assign]
    segs.read = timed("other store reads", segs.read)  # type: ignore[method-assign]


def _warm_caches(kb: Any, emb: Any, res: dict[str, Any]) -> Any:
    """Load the models and build the caches a query needs, each timed (``res["one_off_s"]``); the graph."""
    from vrag.graph_store import to_networkx
    from vrag.indexers.graph_extract import load_nlp
    from vrag.retrievers.graph import _key_index

    store = kb.store
    one_off: dict[str, float] = {}
    t0 = time.perf_counter()
    emb.embed(["warm up"])
    one_off["MiniLM load + first embed"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_nlp()
    one_off["spaCy load (query entity linking)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    graph = to_networkx(store)
    one_off["graph cache build (networkx from entities + relations)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _key_index(store)
    one_off["entity key index (graph linking cache)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    kb._retriever().router.get().classify("warm up")
    one_off["router load + first classify"] = time.perf_counter() - t0
    res["one_off_s"] = one_off
    res["graph_nodes"], res["graph_edges"] = graph.number_of_nodes(), graph.number_of_edges()
    res["graph_provenance"] = sum(len(d["provenance"]) for _n, d in graph.nodes(data=True)) + sum(
        len(d["provenance"]) for _u, _v, d in graph.edges(data=True))
    res["rss_after_caches_mb"] = rss_mb()
    return graph


def _routes(kb: Any, emb: Any) -> dict[str, Callable[[str], Any]]:
    """``retrieve(query, k=10)`` per route; auto is ``KnowledgeBase.search``."""
    from vrag.retrievers.graph import GraphRetriever
    from vrag.retrievers.hybrid import HybridRetriever
    from vrag.retrievers.naive import NaiveRetriever

    store, cfg = kb.store, kb.config
    naive, hybrid, graphr = NaiveRetriever(store, emb), HybridRetriever(store, cfg, emb), GraphRetriever(store, cfg, emb)
    return {
        "naive": lambda q: naive.retrieve(q, k=10),
        "hybrid": lambda q: hybrid.retrieve(q, k=10),
        "graph": lambda q: graphr.retrieve(q, k=10),
        "auto": lambda q: kb.search(q, k=10),
    }


def _time_routes(run: dict[str, Callable[[str], Any]], queries: list[str], repeat: int, timeout: float,
                 spent: dict[str, float]) -> dict[str, Any]:
    """Every query on every route, ``repeat`` times: the samples (ms), stopped queries, hits and auto's routes."""
    raw: dict[str, Any] = {key: {r: [] for r in ROUTES} for key in ("times", "timeouts", "embeds", "parts", "hits")}
    raw["clocks"] = {r: Clock() for r in ROUTES}
    raw["chosen"] = chosen = {}
    for _ in range(repeat):
        for route in ROUTES:
            for q in queries:
                with raw["clocks"][route]:
                    spent.clear()
                    t0 = time.perf_counter()
                    out = _bounded(run[route], q, timeout)
                    raw["times"][route].append((time.perf_counter() - t0) * 1000)
                    raw["embeds"][route].append(spent.get("query embedding", 0.0) * 1000)
                    raw["parts"][route].append({k: v * 1000 for k, v in spent.items()})
                if out is None:
                    raw["timeouts"][route].append(q)
                    print(f"  {route}: {q!r} stopped after {timeout:g} s", file=sys.stderr, flush=True)
                    continue
                raw["hits"][route].append(len(out.hits) if route == "auto" else len(out))
                if route == "auto":
                    key = out.route + (" (escalated)" if out.escalated else "")
                    chosen[key] = chosen.get(key, 0) + 1
    return raw


def _summarise_routes(raw: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Latency summaries per route from :func:`_time_routes`' samples."""
    times, embeds, parts, clocks, hits = raw["times"], raw["embeds"], raw["parts"], raw["clocks"], raw["hits"]
    return {
        "latency_ms": {r: _summary(times[r]) for r in ROUTES},
        "samples_ms": times,
        "embed_ms": {r: _summary(embeds[r]) for r in ROUTES},
        "embed_samples_ms": embeds,
        "parts_ms": {r: {name: _pct([p.get(name, 0.0) for p in parts[r]], 0.5) for name in _PARTS} for r in ROUTES},
        "parts_samples_ms": parts,
        "without_embed_ms": {r: _summary([t - e for t, e in zip(times[r], embeds[r])]) for r in ROUTES},
        "others_busy": {r: clocks[r].others / clocks[r].wall if clocks[r].wall else 0.0 for r in ROUTES},
        "hits": {r: statistics.fmean(hits[r]) if hits[r] else 0.0 for r in ROUTES},
        "timeout_s": timeout,
        "timeouts": raw["timeouts"],
        "auto_routes": raw["chosen"],
    }


def _ann_recall(store: Any, emb: Any, queries: list[str]) -> dict[str, Any]:
    """ANN recall: the store's (indexed) top-10 vs. an exact scan with the same filter."""
    import numpy as np

    from vrag.retrievers.naive import record_filter
    from vrag.store import ANN_MIN_ROWS, SEGMENTS
    from vrag.store.sql import where

    res: dict[str, Any] = {}
    table = _lance(store.path).open_table(SEGMENTS)
    res["rows"] = rows = table.count_rows()
    res["ann"] = rows >= ANN_MIN_ROWS and any(ix.index_type.lower().startswith("ivf") for ix in table.list_indices())
    recall, exact_ms = [], []
    for q in queries:
        vec = emb.embed([q])[0]
        selection = record_filter(None, q)
        clause = where(selection.narrow(has_text=True))  # the store's own translation of the same filter
        ann_ids = [s.segment_id for s, _ in store.segments.vector_search(vec, 10, where=selection,
                                                                          model_id=emb.model_id)]
        t0 = time.perf_counter()
        exact = (table.search(list(map(float, vec))).distance_type("cosine").where(clause, prefilter=True)
                 .limit(10).bypass_vector_index().select(["segment_id", "_distance"]).to_list())
        exact_ms.append((time.perf_counter() - t0) * 1000)
        recall.append(len(set(ann_ids) & {r["segment_id"] for r in exact}) / max(1, len(exact)))
    res["recall_at_10"] = float(np.mean(recall))
    res["recall_min"] = float(np.min(recall))
    res["exact_scan_ms"] = _summary(exact_ms)
    return res


def _profile_routes(run: dict[str, Callable[[str], Any]], queries: list[str], profile: list[str],
                    profile_dir: Path | None, timeout: float) -> dict[str, str]:
    """The ``profile`` routes over the queries under cProfile: stats per route (printed, and saved in
    ``profile_dir``)."""
    import cProfile
    import io
    import pstats

    profiles = {}
    for route in profile:
        prof = cProfile.Profile()
        for q in queries:
            prof.runcall(_bounded, run[route], q, timeout)
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats("cumulative").print_stats(20)
        stats.sort_stats("tottime").print_stats(12)
        profiles[route] = buf.getvalue()
        if profile_dir is not None:
            (profile_dir / f"profile_{route}.txt").write_text(buf.getvalue(), encoding="utf-8")
            prof.dump_stats(str(profile_dir / f"profile_{route}.prof"))
        print(f"--- profile {route} ({len(queries)} queries) ---\n{buf.getvalue()}", file=sys.stderr)
    return profiles


# -- driver --------------------------------------------------------------------------------------
def _child(args: list[str]) -> dict[str, Any]:
    return child_json("benchmarks.bench_query", args)


def _mb(n: int) -> str:
    return f"{n / 2**30:.2f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


#: (build record, measurement) per size, smallest first.
_Results = list[tuple[dict[str, Any], dict[str, Any]]]


def _report(results: _Results, command: str) -> str:
    """The bench-query section of BENCHMARKS.md."""
    return SECTION.render(_latency_table(results, command) + _parts_table(results) + _index_table(results)
                          + _size_lines(results) + _data_notes(results))


def _latency_table(results: _Results, command: str) -> list[str]:
    """The header, and p50/p95/max per size and route against the targets."""
    def cell(m: dict[str, Any], route: str, key: str) -> str:
        v = m["latency_ms"][route][key]
        return f"{v:.0f}" if v >= 10 else f"{v:.1f}"

    lines = [
        "## Query latency per route (synthetic knowledge bases, CPU)",
        "",
        f"{measured(command)}.",
        "",
        "Latency of one `retrieve(query, k=10)` per route, models loaded and caches built (no LLM anywhere): "
        "naive (`NaiveRetriever`), hybrid (`HybridRetriever`), graph (`GraphRetriever`), and auto "
        "(`KnowledgeBase.search(q, k=10)`: router, the routed level, escalation). "
        f"{len(results[0][1]['queries'])} queries per route, each run once after 4 warm-up queries; ms. A query "
        f"still running after {results[0][1]['timeout_s']:g} s is stopped and counted with the time it had taken "
        "(so p95/max are lower bounds when any was stopped).",
        "",
        "| segments (videos) | route | p50 | p95 | max | p50 without query embedding | queries stopped | "
        "target p50 at 1M | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for build, m in results:
        for route in ROUTES:
            target = TARGETS.get(route)
            verdict = ""
            if target is not None:
                ok = m["latency_ms"][route]["p50"] < target
                verdict = ("**met**" if ok else "**missed**") if build["segments"] >= 1_000_000 else (
                    "(under)" if ok else "(over)")
            lines.append(f"| {build['segments']:,} ({build['videos']:,}) | {route} | {cell(m, route, 'p50')} "
                         f"| {cell(m, route, 'p95')} | {cell(m, route, 'max')} "
                         f"| {m['without_embed_ms'][route]['p50']:.0f} "
                         f"| {len(m['timeouts'][route])} "
                         f"| {f'< {target:.0f} ms' if target else 'n/a'} | {verdict} |")
    return lines


def _parts_table(results: _Results) -> list[str]:
    """Median milliseconds per query in each part (embedding, vector, full-text, other reads, the rest)."""
    lines: list[str] = []
    lines += ["", "Where the time goes (median per query, ms; the rest is Python in the retriever: entity linking and the "
              "graph walk, fusion, merging, MMR, routing):", "",
              "| segments | route | " + " | ".join(_PARTS) + " | rest |", "|---|---|" + "---|" * (len(_PARTS) + 1)]
    for build, m in results:
        for route in ROUTES:
            med = m["parts_ms"][route]
            rest = _pct([t - sum(p.values()) for t, p in zip(m["samples_ms"][route], m["parts_samples_ms"][route])], 0.5)
            lines.append(f"| {build['segments']:,} | {route} | " + " | ".join(f"{med[n]:.0f}" for n in _PARTS)
                         + f" | {rest:.0f} |")
    return lines


def _index_table(results: _Results) -> list[str]:
    """Per size: the ANN index and its recall, the index and graph builds, one-off costs."""
    lines: list[str] = []
    lines += ["", "| segments | ANN index | recall@10 of the store's vector search vs. exact (mean / worst query) "
              "| exact flat scan p50 | index build (`finish_writes`) | graph build | one-off per process |",
              "|---|---|---|---|---|---|---|"]
    for build, m in results:
        steps = ", ".join(f"{s['what'] or s['call']} {s['s']:.1f} s" for s in build.get("index_steps", [])
                          if s["table"] == "segments")
        one = m["one_off_s"]
        lines.append(
            f"| {build['segments']:,} | {'IVF_PQ' if m['ann'] else 'none (exact search below ANN_MIN_ROWS)'} "
            f"| {m['recall_at_10']:.3f} / {m['recall_min']:.1f} | {m['exact_scan_ms']['p50']:.0f} ms "
            f"| {build['finish_writes_s']:.1f} s ({steps}) "
            f"| {build['graph']['how']} {build['rebuild_graph_s']:.0f} s, peak RSS {build['graph']['peak_rss_mb']:,.0f} MB "
            f"({build['entities']:,} entities, {build['relations']:,} relations) "
            f"| " + ", ".join(f"{k} {v:.1f} s" for k, v in one.items()) + " |")
    return lines


def _size_lines(results: _Results) -> list[str]:
    """Table sizes on disk per size, before and after old versions are cleaned up."""
    lines: list[str] = []
    lines += ["", "Table sizes on disk right after `finish_writes` (old versions kept, as the store leaves them) "
              "and after `optimize(cleanup_older_than=timedelta(0))` (the data and indexes themselves):", ""]
    for build, _m in results:
        def sizes_text(sizes: dict[str, dict[str, int]]) -> str:
            return ", ".join(f"{name} {_mb(s['total'])}" + (f" (indexes {_mb(s['indices'])})" if s["indices"] else "")
                             for name, s in sizes.items()) + f"; total {_mb(sum(s['total'] for s in sizes.values()))}"

        lines.append(f"- {build['segments']:,} segments: {sizes_text(build['sizes'])}"
                     + (f". Cleaned: {sizes_text(build['sizes_latest'])}." if "sizes_latest" in build else "."))
    return lines


def _data_notes(results: _Results) -> list[str]:
    """How the data, the vectors and the queries were made; build times; machine load."""
    lines: list[str] = []
    big_build, big = results[-1]
    small_build = next((b for b, _m in results if "composed_vs_real" in b), None)
    lines += [
        "",
        "How the data was made:",
        "",
        f"- Text: the seeded generator of `benchmarks.textgen` (seed {big_build['seed']}): "
        f"{big_build['vocabulary']['people']:,} people, {big_build['vocabulary']['organisations']:,} organisations, "
        f"{big_build['vocabulary']['places']} places and {big_build['vocabulary']['concepts']:,} concepts in 8 fields "
        "(with acronyms), each video with its own Zipf-skewed cast; ~3 in 4 segments are ASR-like "
        "(one or two spoken sentences), the rest OCR-like slides (title + 1-3 lines); "
        f"{PER_VIDEO} segments per video, a `videos` row each. Written through the store's own table creation "
        "(`Store._vectors`: schema and model id metadata) in batches of 100k rows.",
        "- Graph: the generator's draws are recorded, so each segment's names are known without spaCy. Per video, "
        "`replace_extraction` gets a mention per name (PERSON, ORG, GPE, CONCEPT, ACRONYM with `alias_of` when "
        "defined), a typed relation for each verb between the nearest names around it (\"X increases Y\", "
        "\"P studied C\", \"O funded C\"), and `co_occurs` for every pair of names in one extraction record (a speech "
        f"segment, or one slide line); then the graph is resolved with MiniLM for entity names "
        f"({big_build['video_mentions']:,} mention rows and {big_build['video_relations']:,} relation rows at "
        f"{big_build['segments']:,} segments), by `vrag.graph_build.rebuild_graph` (columnar, bounded memory: "
        f"{big_build['graph'].get('peak_rss_mb', 0) / 1024:.1f} GB peak RSS for this build)."
    ]
    if small_build is not None:
        c = small_build["composed_vs_real"]
        lines.append(
            f"- Vectors: real all-MiniLM-L6-v2 on every text up to {EMBED_MAX:,} segments. Above, embedding every "
            "text would take hours on 2 cores, so each sentence (or slide line) is composed from MiniLM vectors "
            f"of its parts, embedded once: its template with names blanked and numbers generic "
            f"(weight {c['weight']:g}) plus each name or concept it contains; a segment is the normalised sum of "
            f"its sentences ({big_build['lexicon']:,} distinct parts embedded at {big_build['segments']:,}). "
            f"Checked on the {small_build['segments']:,} set against the real vectors: mean cosine "
            f"{c['mean']:.2f} (10th percentile {c['p10']:.2f}); for 30 queries about names in the corpus, exact "
            f"search over the composed vectors returns {c['top10_overlap']:.0%} of the real vectors' top-10 in its "
            f"top-10 and {c.get('top10_in_top50', float('nan')):.0%} in its top-50. That is not a substitute for "
            "real embeddings in a quality benchmark, but it gives the 1M vectors MiniLM's geometry (clustered by "
            "topic, template and name), which is what search cost and the IVF-PQ index's recall depend on.")
    lines += [
        "- Queries: drawn from the built graph (seeded): names of people, \"who is P\", \"what is C\", "
        "\"C results\", \"research at O\", \"how is X related to Y?\" for typed relations, and "
        "\"what did P find about C?\"; examples: " + "; ".join(f"`{q}`" for q in big["queries"][::8]) + ".",
        "- Routes chosen by auto at the largest size: " + ", ".join(
            f"{k} {v}" for k, v in sorted(big["auto_routes"].items(), key=lambda kv: -kv[1])) + ".",
        "- Build times at the largest size: generate "
        f"{big_build['generate_s']:.0f} s, replace_extraction {big_build['replace_extraction_s']:.0f} s, "
        f"embedding {big_build['embed_lexicon_s'] + big_build.get('embed_texts_s', 0):.0f} s, write segments "
        f"{big_build['write_segments_s']:.0f} s, graph ({big_build['graph']['how']}) "
        f"{big_build['rebuild_graph_s']:.0f} s (of it "
        f"embedding entity names {big_build['entity_names_embed_s']:.0f} s), finish_writes "
        f"{big_build['finish_writes_s']:.0f} s; peak RSS: generate + write {big_build['peak_rss_mb']:.0f} MB, graph "
        f"{big_build['graph']['peak_rss_mb']:.0f} MB, finish_writes {big_build['index_peak_rss_mb']:.0f} MB; "
        f"of the measuring process after loading the graph cache {big['rss_after_caches_mb']:.0f} MB.",
        "- The machine is shared: cores kept busy by other processes while measuring "
        + "; ".join(f"{b['segments']:,}: " + ", ".join(f"{r} {m['others_busy'][r]:.1f}" for r in ROUTES)
                    for b, m in results) + " (of 2).",
    ]
    return lines


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_query", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,1000000", help="comma list of segment counts (default 10000,1000000)")
    p.add_argument("--queries", type=int, default=40, help="queries per route (default 40)")
    p.add_argument("--repeat", type=int, default=1, help="run every query this many times per route (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="markdown file whose bench-query section is replaced (e.g. BENCHMARKS.md)")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep the knowledge bases in DIR/kb-N and reuse them when they hold N segments")
    p.add_argument("--embed-max", type=int, default=EMBED_MAX,
                   help=f"embed every text with MiniLM up to this many segments (default {EMBED_MAX})")
    p.add_argument("--profile", default="", metavar="ROUTES",
                   help="comma list of routes to profile with cProfile after timing (stats printed and saved "
                        "next to the knowledge base)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="stop a single query after this many seconds and report it as stopped (default 60)")
    p.add_argument("--threads", type=int, help="override the `threads` setting (torch threads of MiniLM) when measuring")
    p.add_argument("--build-threads", type=int, default=1,
                   help="torch threads for MiniLM while building (default 1: on a shared 2-core machine two threads "
                        "stall whenever another process holds a core)")
    p.add_argument("--no-plot", action="store_true", help="do not write docs/benchmarks/query_latency.png")
    p.add_argument("--child-build", type=int, help=argparse.SUPPRESS)
    p.add_argument("--child-graph", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--child-index", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--child-measure", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    return p


def _run_child_mode(args: argparse.Namespace) -> bool:
    """The child processes' work (``--child-*``): print its JSON; False when this is not a child."""
    if args.child_build:
        print(json.dumps(_build(args.child_build, args.db, args.seed, args.embed_max, args.build_threads)))
    elif args.child_index:
        partial = args.db / (_BUILD_FILE + ".partial")
        print(json.dumps(_index(args.db, json.loads(partial.read_text(encoding="utf-8")))))
        partial.unlink()
    elif args.child_graph:
        print(json.dumps(_graph(args.db, args.build_threads)))
    elif args.child_measure:
        profile = [r for r in args.profile.split(",") if r]
        print(json.dumps(_measure(args.db, args.queries, args.seed, args.repeat, profile, args.db, args.threads,
                                  args.timeout)))
    else:
        return False
    return True


def _build_kb(db: Path, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """A knowledge base of ``n`` segments in ``db`` (three child processes: build, graph, indexes); its record."""
    shutil.rmtree(db, ignore_errors=True)
    print(f"building {n:,} segments in {db} ...", file=sys.stderr, flush=True)
    build = _child(["--child-build", str(n), "--db", str(db), "--seed", str(args.seed),
                    "--embed-max", str(args.embed_max), "--build-threads", str(args.build_threads)])
    print(f"[build {n}] graph ...", file=sys.stderr, flush=True)
    graph = _child(["--child-graph", "--db", str(db), "--build-threads", str(args.build_threads)])
    build.update(graph=graph, rebuild_graph_s=graph["wall"], entity_names_embed_s=graph["embed"],
                 entities=graph["entities"], relations=graph["relations"])
    print(f"[build {n}] finish_writes (indexes) ...", file=sys.stderr, flush=True)
    (db / (_BUILD_FILE + ".partial")).write_text(json.dumps(build), encoding="utf-8")
    return _child(["--child-index", "--db", str(db)])


def _measure_kb(db: Path, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """The measurement of ``db`` (a child process), kept next to it and summarised on stderr."""
    print(f"measuring {n:,} segments ...", file=sys.stderr, flush=True)
    measurement = _child(["--child-measure", "--db", str(db), "--queries", str(args.queries), "--seed",
                          str(args.seed), "--repeat", str(args.repeat), "--profile", args.profile,
                          "--timeout", str(args.timeout)]
                         + (["--threads", str(args.threads)] if args.threads else []))
    (db / "bench_query_measure.json").write_text(json.dumps(measurement, indent=1), encoding="utf-8")
    for route in ROUTES:
        s = measurement["latency_ms"][route]
        print(f"  {n:>9,} {route:6s} p50 {s['p50']:7.1f} ms  p95 {s['p95']:7.1f} ms  max {s['max']:7.1f} ms",
              file=sys.stderr, flush=True)
    print(f"  recall@10 {measurement['recall_at_10']:.3f}", file=sys.stderr, flush=True)
    return measurement


def _with_plot(section: str, results: _Results) -> str:
    """``section`` with the latency plot (docs/benchmarks/query_latency.png, written now) linked at its end."""
    from benchmarks.bench_plots import PLOTS, latency_plot

    plot = latency_plot([b["segments"] for b, _m in results],
                        {route: [(m["latency_ms"][route]["p50"], m["latency_ms"][route]["p95"]) for _b, m in results]
                         for route in ROUTES if route != "auto"},
                        TARGETS, PLOTS / "query_latency.png",
                        "retrieve(query, k=10) per route; dotted: p50 targets at 1M")
    return SECTION.add_image(section, "Query latency against corpus size", plot)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if _run_child_mode(args):
        return 0
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    results = []
    tmp = None if args.keep else tempfile.mkdtemp(prefix="vrag-bench-query-")
    try:
        for n in sorted(sizes):
            db = (args.keep if args.keep else Path(tmp)) / f"kb-{n}"  # type: ignore[arg-type]
            build = _built(db, n)
            if build is None:
                build = _build_kb(db, n, args)
            else:
                print(f"reusing {db} ({n:,} segments)", file=sys.stderr, flush=True)
            results.append((build, _measure_kb(db, n, args)))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    section = _report(results, command_line("benchmarks.bench_query", argv))
    if not args.no_plot and results:
        section = _with_plot(section, results)
    SECTION.publish(section, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
