"""Knowledge-graph benchmark: ``python -m benchmarks.bench_graph --segments 100000 --videos 200``.

Builds a temporary knowledge base of synthetic speech (ASR-like sentences) and screen text
(OCR-like slide lines) spread over many videos, generated deterministically from a seeded
vocabulary of people, organisations, places and domain concepts (with acronym definitions
such as "traumatic brain injury (TBI)"; :mod:`benchmarks.textgen`). Then it measures the graph stage as the pipeline
runs it: spaCy extraction per video, ``store.graph.replace_extraction`` per video, and one
``rebuild_graph`` with the packaged MiniLM embedder for entity names. Each scale runs in a
fresh process so its peak memory is its own. Results replace the ``graph`` section of
BENCHMARKS.md (``--out``), with the machine and the command.

Segments are written with the store API but without text embeddings (the store fills a
zero vector): the graph stage never reads segment vectors, and embedding 100k texts would
dominate the run.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from benchmarks.common import Clock, Section, TimedEmbed, child_json, command_line, measured, rss_mb
from benchmarks.textgen import Video, Vocabulary

__all__ = ["SECTION", "main", "make_segments"]

SECTION = Section("<!-- bench:graph -->", "<!-- /bench:graph -->")
_SEGMENT_MODEL = "bench-graph:zero-vector"  # segments are stored without text embeddings
_DIM = 384


def _video_id(i: int) -> str:
    import hashlib

    return hashlib.blake2b(f"bench-graph-video-{i}".encode(), digest_size=16).hexdigest()


def make_segments(n: int, videos: int, seed: int = 0, vocab: Vocabulary | None = None) -> dict[str, list[Any]]:
    """``n`` speech and screen-text segments over ``videos`` videos: {video_id: [Segment, ...]}.
    About 3 in 4 are speech (one or two spoken sentences), the rest slides (a title and 1-3 lines)."""
    from vrag.schema import Segment

    vocab = vocab or Vocabulary(seed)
    out: dict[str, list[Any]] = {}
    per, extra = divmod(n, videos)
    for v in range(videos):
        rng = random.Random(f"{seed}:{v}")
        video = Video(vocab, rng)
        vid = _video_id(v)
        segs, t, slide_t = [], 0.0, 0.0
        for _ in range(per + (v < extra)):
            if rng.random() < 0.75:
                text = " ".join(video.sentence() for _ in range(rng.choice((1, 1, 2))))
                dur = round(len(text.split()) / 2.5, 2)
                segs.append(Segment(vid, "asr", t, t + dur, text, "bench:asr"))
                t += dur + 0.3
            else:
                slide_t = max(slide_t, t)
                segs.append(Segment(vid, "ocr", slide_t, slide_t + 20.0, "\n".join(video.slide()), "bench:ocr"))
                slide_t += 20.0
        out[vid] = segs
    return out


def _records(segs: list[Any]) -> list[tuple[str, str]]:
    """Extraction input as the pipeline builds it: speech whole, each screen line on its own."""
    texts = [(s.segment_id, s.text) for s in segs if s.modality == "asr"]
    for s in segs:
        if s.modality == "ocr":
            texts += [(s.segment_id, line) for line in s.text.splitlines() if line.strip()]
    return texts


def _child(n: int, videos: int, seed: int, profile: str | None, repeat: int = 1) -> dict[str, Any]:
    """In a fresh process: build the knowledge base, then time extraction, storage and the graph build."""
    import importlib

    from vrag.store import Store

    importlib.import_module("vrag.indexers.graph_resolve")  # imported now: the code measured is the code at start
    result: dict[str, Any] = {"segments": n, "videos": videos, "seed": seed, "load_start": os.getloadavg()[0],
                              "code": _graph_code()}
    data = _generate(n, videos, seed, result)
    with tempfile.TemporaryDirectory(prefix="vrag-bench-graph-") as tmp:
        store = Store(Path(tmp) / "kb")
        _write_segments(store, data, result)
        _extract_all(store, data, result)
        del data
        rebuild, embed = _rebuild_all(store, result, repeat)
        result["load_end"] = os.getloadavg()[0]
        if profile:
            embed.reset()
            _profile_rebuild(rebuild, profile, result)
    return result


def _generate(n: int, videos: int, seed: int, result: dict[str, Any]) -> dict[str, list[Any]]:
    """The segments (timed; their vocabulary and modalities recorded in ``result``)."""
    started = time.perf_counter()
    vocab = Vocabulary(seed)
    data = make_segments(n, videos, seed, vocab)
    result["vocabulary"] = vocab.size
    result["generate_s"] = time.perf_counter() - started
    result["asr"] = sum(s.modality == "asr" for segs in data.values() for s in segs)
    result["ocr"] = sum(s.modality == "ocr" for segs in data.values() for s in segs)
    return data


def _write_segments(store: Any, data: dict[str, list[Any]], result: dict[str, Any]) -> None:
    started = time.perf_counter()
    for vid, segs in data.items():
        store.segments.replace(vid, segs, _SEGMENT_MODEL, _DIM)
    result["write_segments_s"] = time.perf_counter() - started


def _extract_all(store: Any, data: dict[str, list[Any]], result: dict[str, Any]) -> None:
    """spaCy extraction per video and its ``replace_extraction``, each timed (spaCy loaded first)."""
    from vrag.indexers.graph_extract import extract

    started = time.perf_counter()
    extract([("warm-up", "Marie Curie discovered polonium in Paris.")])  # loads spaCy (public API only)
    result["spacy_load_s"] = time.perf_counter() - started
    extract_clock, store_clock = Clock(), Clock()
    records = words = mentions_n = relations_n = 0
    for vid, segs in data.items():
        texts = _records(segs)
        records += len(texts)
        words += sum(len(t.split()) for _, t in texts)
        with extract_clock:
            mentions, relations = extract(texts)
        with store_clock:
            store.graph.replace_extraction(vid, mentions, relations)
        mentions_n += len(mentions)
        relations_n += len(relations)
    result.update(records=records, words=words, extract_s=extract_clock.wall, extract=extract_clock.to_json(),
                  replace_extraction_s=store_clock.wall,
                  mentions=mentions_n, video_relations=relations_n,
                  mention_rows=store.graph.extraction_arrow().num_rows, rss_after_extract_mb=rss_mb())


def _rebuild_all(store: Any, result: dict[str, Any], repeat: int) -> tuple[Callable[[], Any], TimedEmbed]:
    """``rebuild_graph`` ``repeat`` times with the packaged MiniLM (loaded first); the fastest run is
    the result. Returns the rebuild (for profiling) and its timed embedder."""
    from vrag.backends.text_embed import text_embedder
    from vrag.config import Config
    from vrag.graph_build import rebuild_graph

    cfg = Config.load()
    embedder = text_embedder(cfg)
    similarity = float(cfg.graph_merge_similarity)
    result.update(similarity=similarity, embedder=embedder.model_id)
    started = time.perf_counter()
    embedder.embed(["warm up"])
    result["embedder_load_s"] = time.perf_counter() - started
    result["rss_before_rebuild_mb"] = rss_mb()
    embed = TimedEmbed(embedder.embed)
    rebuild = functools.partial(rebuild_graph, store, embed, similarity, embedder.model_id)  # as Pipeline.rebuild_graph
    runs = []
    for i in range(max(1, repeat)):
        embed.reset()
        with Clock() as clock:
            entities, relations = rebuild()
        runs.append({**clock.to_json(), "embed": embed.seconds, "embedded": embed.count})
        if i == 0:
            result["peak_rss_mb"] = rss_mb()  # of one rebuild
    best = min(runs, key=lambda r: r["wall"])  # the least disturbed by other processes
    result.update(rebuild_s=best["wall"], rebuild=best, rebuild_runs=runs, embed_s=best["embed"],
                  embedded=best["embedded"], entities=entities, relations=relations)
    return rebuild, embed


def _profile_rebuild(rebuild: Callable[[], Any], profile: str, result: dict[str, Any]) -> None:
    """One more rebuild under cProfile: stats dumped to ``profile`` and the top entries printed to stderr."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    started = time.perf_counter()
    prof.runcall(rebuild)
    result["profiled_rebuild_s"] = time.perf_counter() - started
    prof.dump_stats(profile)
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(15)
    stats.sort_stats("tottime").print_stats(15)
    stats.sort_stats("cumulative").print_stats(r"graph_|store\.py|lancedb/table|json/", 25)
    print(buf.getvalue(), file=sys.stderr)


def _run_child(n: int, videos: int, seed: int, profile: str | None = None, repeat: int = 1) -> dict[str, Any]:
    args = ["--child", "--segments", str(n), "--videos", str(videos), "--seed", str(seed),
            "--repeat", str(repeat)] + (["--profile", profile] if profile else [])
    print(f"measuring {n} segments over {videos} videos ...", file=sys.stderr)
    return child_json("benchmarks.bench_graph", args)


_GRAPH_FILES = ("indexers/graph_extract.py", "indexers/graph_resolve.py", "vrag/graph_store.py", "vrag/store/graph.py",
                "vrag/graph_build.py")


def _graph_code() -> dict[str, str]:
    """Which graph code is measured: the commit, local changes to the graph files, and their digest."""
    import hashlib

    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha1(b"".join((root / f).read_bytes() for f in _GRAPH_FILES if (root / f).exists())).hexdigest()
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *_GRAPH_FILES], cwd=root,
                               capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return {"text": "graph code at an unknown revision", "digest": digest}
    changed = [line[3:] for line in dirty if line.strip()]
    text = f"graph code at commit {head}" + (f" with uncommitted changes in {', '.join(changed)}" if changed else "")
    return {"text": text, "digest": digest}


def _report(rows: list[dict[str, Any]], command: str) -> str:
    big = rows[-1]
    vocab = big["vocabulary"]
    def busy(r: dict[str, Any], phase: str) -> float:  # cores other processes kept busy meanwhile
        return r[phase]["others"] / r[phase]["wall"] if r[phase]["wall"] > 0 else 0.0

    shared = max(max(busy(r, "extract"), busy(r, "rebuild")) for r in rows)
    table = [
        f"| {r['segments']:,} ({r['videos']} videos) | {r['records']:,} | {r['extract_s']:.0f} s "
        f"| **{r['segments'] / r['extract_s']:,.0f}** ({r['records'] / r['extract_s']:,.0f} records/s) "
        f"| {r['replace_extraction_s']:.1f} s | **{r['rebuild_s']:.1f} s** (embed {r['embed_s']:.1f} s "
        f"for {r['embedded']:,} names) | {r['entities']:,} | {r['relations']:,} "
        f"| {r['rss_after_extract_mb']:.0f} MB / {r['peak_rss_mb']:.0f} MB |"
        for r in rows
    ]
    lines = [
        "## Knowledge-graph stage at scale (synthetic text, CPU)",
        "",
        f"{measured(command)}; "
        f"spaCy en_core_web_sm, {big['code']['text']}"
        + ("" if len({r["code"]["digest"] for r in rows} | {_graph_code()["digest"]}) == 1
           else " (WARNING: the graph code changed while the benchmark ran; rows may not be comparable)")
        + f", merge similarity {big['similarity']:g}."
        + (f" The machine was shared with other work (up to {shared:.1f} of its {os.cpu_count()} cores busy with "
           "other processes during a measured phase, see below), so the wall times are upper bounds."
           if shared > 0.2 else ""),
        "",
        f"Input: synthetic speech and screen text generated by `benchmarks.bench_graph` (seed {big['seed']}): "
        f"~3 in 4 segments are ASR-like spoken sentences, the rest OCR-like slides (a title and 1-3 lines, "
        f"each line extracted as its own record, as the pipeline does). Each video has its own cast drawn "
        f"with a Zipf skew from {vocab['people']:,} people (full names, surnames alone, \"Dr. X\"), "
        f"{vocab['organisations']:,} organisations, {vocab['places']} places and {vocab['concepts']:,} domain "
        "concepts in 8 fields, some defined with an acronym (\"traumatic brain injury (TBI)\") and later "
        "used by it. Segments are stored with `store.segments.replace` and zero vectors (the graph stage "
        "never reads segment vectors); each scale runs in a fresh process.",
        "",
        "| segments | extraction records | extract() | segments/s | replace_extraction | rebuild_graph | entities "
        "| relations | peak RSS after extraction / after one rebuild |",
        "|---|---|---|---|---|---|---|---|---|",
        *table,
        "",
        "- `extract()` runs once per video over its speech and screen lines (as `Pipeline._extract_graph`); "
        f"spaCy load ({big['spacy_load_s']:.1f} s) and MiniLM load ({big['embedder_load_s']:.1f} s) are not "
        "included. `replace_extraction` is the per-video write of mentions and relations "
        f"({big['mention_rows']:,} rows at {big['segments']:,} segments).",
        "- `rebuild_graph` is one full rebuild from every stored extraction, called as `Pipeline.rebuild_graph` "
        "calls it, with all-MiniLM-L6-v2 embedding every entity name (for near-duplicate merging and entity "
        "search); it runs after every index run that changed any video's text.",
    ]
    lines.append(
        "- CPU time of this process / cores other processes kept busy meanwhile: "
        + "; ".join(f"{r['segments']:,} segments: extract {r['extract']['cpu']:.0f} s / {busy(r, 'extract'):.1f}, "
                    f"rebuild {r['rebuild']['cpu']:.0f} s / {busy(r, 'rebuild'):.1f}" for r in rows)
        + ". spaCy runs on one core; MiniLM uses `threads` (2) cores, so its wall time suffers most when "
        "another process takes a core."
    )
    if big["rebuild_runs"][1:]:
        lines.append(
            f"- `rebuild_graph` ran {len(big['rebuild_runs'])} times per size; the table shows the fastest. All runs "
            "(wall s, of it embedding): "
            + "; ".join(f"{r['segments']:,} segments: " + ", ".join(f"{x['wall']:.1f} ({x['embed']:.1f})"
                                                                    for x in r["rebuild_runs"]) for r in rows)
            + "."
        )
    if "profiled_rebuild_s" in big:
        lines.append(f"- Under cProfile the same rebuild took {big['profiled_rebuild_s']:.1f} s.")
    return SECTION.render(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_graph", description=__doc__.splitlines()[0])
    p.add_argument("--segments", type=int, default=100_000, help="segments in the largest run (default 100000)")
    p.add_argument("--videos", type=int, default=200, help="videos they are spread over (default 200)")
    p.add_argument("--compare", type=int, nargs="*", default=[10_000], metavar="N",
                   help="also run these smaller sizes, same segments per video (default 10000; none to skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="markdown file whose graph section is replaced (e.g. BENCHMARKS.md)")
    p.add_argument("--profile", metavar="FILE",
                   help="after the timed run, profile a second rebuild_graph of the largest size (cProfile stats to FILE)")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="rebuild the graph N times and report the fastest (for shared machines; default 1)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.segments, args.videos, args.seed, args.profile, args.repeat)))
        return 0
    rows = []
    for n in sorted(c for c in args.compare if 0 < c < args.segments):
        rows.append(_run_child(n, max(1, round(args.videos * n / args.segments)), args.seed, None, args.repeat))
    rows.append(_run_child(args.segments, args.videos, args.seed, args.profile, args.repeat))
    SECTION.publish(_report(rows, command_line("benchmarks.bench_graph", argv)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
