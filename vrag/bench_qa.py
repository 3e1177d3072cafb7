"""Question-answering benchmark on real material: ``python -m vrag.bench_qa``.

Runs every development question of a JSON-lines file (``tests/eval_questions.jsonl``) through
``KnowledgeBase.search(question, k=5, mode="auto")`` and ``KnowledgeBase.ask(question)`` on an
already indexed knowledge base, and reports, per question kind and overall:

- recall@1 / recall@5: a hit is right when its file's basename equals the question's ``file``
  and its [start, end] overlaps the true span (or one of the optional ``also`` spans) with
  ``TOLERANCE`` seconds of slack either side;
- evidence@5: one of those right hits also contains every keyword in its own text (long
  records such as a slide that stays up for a minute overlap every span of a talk, so
  recall@k alone is lenient there);
- keyword accuracy: every keyword appears in the answer (case-insensitive), file names and
  paths removed first (``nextqa_..._stage.mp4`` must not answer "where": on a stage); for an
  ``unanswerable`` question the answer must say "not found" and cite nothing;
- citation accuracy: the answer's first citation is in the right file and overlaps the span;
- the route the router chose, and p50/p90 latency of ``search`` and ``ask``.

A question line: ``{"id", "question", "file" (basename or null), "start", "end", "keywords",
"kind", "also" (optional list of [start, end]: the same evidence shown or said again)}``.

With ``--out BENCHMARKS.md`` the section between ``<!-- bench-qa:begin -->`` and
``<!-- bench-qa:end -->`` is replaced; ``--json FILE`` dumps the per-question results.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from vrag.bench import _machine, _write

__all__ = ["TOLERANCE", "load_questions", "hit_matches", "keyword_ok", "evaluate", "summarise", "main"]

BEGIN, END = "<!-- bench-qa:begin -->", "<!-- bench-qa:end -->"
TOLERANCE = 2.0  # seconds of slack either side of a true span
KINDS = ("speech", "screen", "visual", "cross", "global", "unanswerable")
NOT_FOUND = "not found"
_FILE_NAME = re.compile(
    r"[^\s\"'“”()\[\]]+\.(?:mp4|m4v|mkv|webm|mov|avi|mpg|mpeg|ts|flac|mp3|wav|m4a|aac|ogg|oga|opus|wma)\b", re.I
)


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    """Read and check a JSON-lines question file (blank lines and ``#`` comments are skipped)."""
    questions, seen = [], set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        q = json.loads(line)
        where = f"{path}:{n} ({q.get('id')})"
        missing = {"id", "question", "file", "start", "end", "keywords", "kind"} - set(q)
        if missing:
            raise ValueError(f"{where}: missing {sorted(missing)}")
        if q["id"] in seen:
            raise ValueError(f"{where}: duplicate id")
        seen.add(q["id"])
        if q["kind"] not in KINDS:
            raise ValueError(f"{where}: kind must be one of {KINDS}")
        if q["kind"] == "unanswerable":
            if q["file"] is not None or q["keywords"]:
                raise ValueError(f"{where}: an unanswerable question has file null and no keywords")
        else:
            if not q["file"] or q["start"] is None or q["end"] is None or q["start"] > q["end"] or not q["keywords"]:
                raise ValueError(f"{where}: needs a file, start <= end and at least one keyword")
            if any(k != k.lower() for k in q["keywords"]):
                raise ValueError(f"{where}: keywords are lowercase")
        questions.append(q)
    return questions


def _spans(q: dict[str, Any]) -> list[tuple[float, float]]:
    return [(float(q["start"]), float(q["end"]))] + [(float(s), float(e)) for s, e in q.get("also") or []]


def hit_matches(hit: dict[str, Any], q: dict[str, Any], tolerance: float = TOLERANCE) -> bool:
    """Same file (basename) and the hit's span overlaps a true span, with ``tolerance`` seconds of slack."""
    if not q.get("file") or not hit.get("path"):
        return False
    if Path(str(hit["path"])).name != q["file"]:
        return False
    start, end = float(hit.get("start") or 0.0), float(hit.get("end") or 0.0)
    return any(start <= e + tolerance and end >= s - tolerance for s, e in _spans(q))


def keyword_ok(answer: str, citations: list[dict[str, Any]], q: dict[str, Any]) -> bool:
    """All keywords in the answer's words (file names and paths do not count); unanswerable: "not found", no citations."""
    text = (answer or "").lower()
    if q["kind"] == "unanswerable":
        return NOT_FOUND in text and not citations
    text = _FILE_NAME.sub(" ", text)
    return all(k in text for k in q["keywords"])


def evidence_ok(hit: dict[str, Any], q: dict[str, Any]) -> bool:
    """A right hit (file and span) whose own text holds every keyword."""
    text = str(hit.get("text") or "").lower()
    return hit_matches(hit, q) and all(k in text for k in q["keywords"])


def evaluate(kb: Any, questions: Iterable[dict[str, Any]], k: int = 5, progress: bool = False) -> list[dict[str, Any]]:
    """Run ``search`` and ``ask`` on every question; one result row per question."""
    rows = []
    for q in questions:
        t0 = time.perf_counter()
        found = kb.search(q["question"], k=k, mode="auto")
        t1 = time.perf_counter()
        asked = kb.ask(q["question"])
        t2 = time.perf_counter()
        hits = list(found["hits"])[:k]
        citations = list(asked.get("citations") or [])
        answerable = q["kind"] != "unanswerable"
        row = {
            "id": q["id"],
            "kind": q["kind"],
            "question": q["question"],
            "file": q["file"],
            "span": [q["start"], q["end"]],
            "route": found["route"],
            "ask_route": asked.get("route"),
            "confidence": found.get("confidence"),
            "escalated": found.get("escalated"),
            "r1": bool(hits) and hit_matches(hits[0], q) if answerable else None,
            "r5": any(hit_matches(h, q) for h in hits) if answerable else None,
            "ev5": any(evidence_ok(h, q) for h in hits) if answerable else None,
            "rank": next((i + 1 for i, h in enumerate(hits) if hit_matches(h, q)), None) if answerable else None,
            "keyword_ok": keyword_ok(asked.get("answer", ""), citations, q),
            "citation_ok": bool(citations) and hit_matches(citations[0], q) if answerable else None,
            "said_not_found": NOT_FOUND in (asked.get("answer") or "").lower(),
            "answer": asked.get("answer", ""),
            "citations": citations,
            "hits": [
                {key: h.get(key) for key in ("path", "start", "end", "modality", "score", "text")} for h in hits
            ],
            "search_s": t1 - t0,
            "ask_s": t2 - t1,
        }
        row["top_hit"] = _short_hit(hits[0]) if hits else ""
        rows.append(row)
        if progress:
            print(f"  {q['id']:<10} {row['route']:<8} r5={_mark(row['r5'])} kw={_mark(row['keyword_ok'])} "
                  f"{row['search_s']:.2f}s/{row['ask_s']:.2f}s", file=sys.stderr, flush=True)
    return rows


def _short_hit(h: dict[str, Any]) -> str:
    name = Path(str(h.get("path") or "?")).name
    return f"{name} {float(h.get('start') or 0):.1f}-{float(h.get('end') or 0):.1f} {h.get('modality', '')}"


def _mark(v: bool | None) -> str:
    return "-" if v is None else ("y" if v else "n")


def _mean(values: list[bool | None]) -> float | None:
    vals = [bool(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-kind and overall metrics, the route distribution and latency."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r)

    def block(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "n": len(rs),
            "r1": _mean([r["r1"] for r in rs]),
            "r5": _mean([r["r5"] for r in rs]),
            "ev5": _mean([r["ev5"] for r in rs]),
            "keyword": _mean([r["keyword_ok"] for r in rs]),
            "citation": _mean([r["citation_ok"] for r in rs]),
            "routes": dict(Counter(r["route"] for r in rs).most_common()),
        }

    answerable = [r for r in rows if r["kind"] != "unanswerable"]
    return {
        "kinds": {kind: block(by_kind[kind]) for kind in KINDS if by_kind.get(kind)},
        "overall": block(rows),
        "answerable": block(answerable),
        "false_not_found": sum(r["said_not_found"] for r in answerable),
        "routes": dict(Counter(r["route"] for r in rows).most_common()),
        "search_p50": _quantile([r["search_s"] for r in rows], 0.5),
        "search_p90": _quantile([r["search_s"] for r in rows], 0.9),
        "ask_p50": _quantile([r["ask_s"] for r in rows], 0.5),
        "ask_p90": _quantile([r["ask_s"] for r in rows], 0.9),
    }


def per_question_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'id':<10} {'kind':<13} {'route':<8} {'r@1':<4} {'r@5':<4} {'ev@5':<5} {'kw':<3} {'cite':<4} top hit"]
    for r in rows:
        lines.append(
            f"{r['id']:<10} {r['kind']:<13} {str(r['route']):<8} {_mark(r['r1']):<4} {_mark(r['r5']):<4} {_mark(r['ev5']):<5} "
            f"{_mark(r['keyword_ok']):<3} {_mark(r['citation_ok']):<4} {r['top_hit']}"
        )
    return "\n".join(lines)


def report(rows: list[dict[str, Any]], summary: dict[str, Any], command: str, db: str, questions: str, k: int) -> str:
    kinds = Counter(r["kind"] for r in rows)
    ans, allq = summary["answerable"], summary["overall"]
    table = [f"| kind | questions | recall@1 | recall@{k} | evidence@{k} | keyword acc. | citation acc. | routes |",
             "|---|---|---|---|---|---|---|---|"]
    for kind, b in summary["kinds"].items():
        routes = ", ".join(f"{k} {v}" for k, v in b["routes"].items())
        table.append(f"| {kind} | {b['n']} | {_pct(b['r1'])} | {_pct(b['r5'])} | {_pct(b['ev5'])} | {_pct(b['keyword'])} | {_pct(b['citation'])} | {routes} |")
    table.append(
        f"| **all** | **{allq['n']}** | **{_pct(ans['r1'])}** | **{_pct(ans['r5'])}** | **{_pct(ans['ev5'])}** | **{_pct(allq['keyword'])}** "
        f"| **{_pct(ans['citation'])}** | {', '.join(f'{k} {v}' for k, v in summary['routes'].items())} |"
    )
    misses_r5 = [r["id"] for r in rows if r["r5"] is False]
    misses_kw = [r["id"] for r in rows if not r["keyword_ok"]]
    return "\n".join([
        BEGIN,
        "## Question answering on real recordings (../shared/eval)",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC with `{command}` on: {_machine()}.",
        "",
        f"{len(rows)} development questions written by hand from the media themselves (`{questions}`: "
        + ", ".join(f"{kinds[k]} {k}" for k in KINDS if kinds.get(k))
        + f"), against the knowledge base `{db}` built by `vrag index ../shared/eval/media ../shared/eval/audio`. "
        "True spans come from the picture, the reference line timings and word timestamps, not from what vrag "
        "retrieved; the maintainers keep a separate held-out set on the same files.",
        "",
        f"- recall@1 / recall@{k}: the hit's file and span (±{TOLERANCE:g} s) match the truth; over the "
        f"{ans['n']} answerable questions (`search(q, k={k}, mode=\"auto\")`).",
        f"- evidence@{k}: a right hit also holds every keyword in its own text (a slide that stays up "
        "for the whole talk overlaps every span, so recall alone is lenient there).",
        "- keyword acc.: every keyword is in the `ask` answer, file names removed (unanswerable: the answer "
        "says \"not found\" and cites nothing); over all questions.",
        "- citation acc.: the answer's first citation is the right file and span; over answerable questions.",
        "",
        *table,
        "",
        f"- Unanswerable questions answered \"not found\": {_pct(summary['kinds'].get('unanswerable', {}).get('keyword'))}; "
        f"answerable questions wrongly answered \"not found\": {summary['false_not_found']} of {ans['n']}.",
        f"- Latency (models loaded, one warm-up query first): search p50 {summary['search_p50'] * 1000:.0f} ms "
        f"(p90 {summary['search_p90'] * 1000:.0f} ms), ask p50 {summary['ask_p50'] * 1000:.0f} ms "
        f"(p90 {summary['ask_p90'] * 1000:.0f} ms).",
        f"- Missed at recall@{k}: {', '.join(misses_r5) or 'none'}.",
        f"- Keyword misses: {', '.join(misses_kw) or 'none'}.",
        END,
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vrag.bench_qa", description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, help="an indexed knowledge base (e.g. /tmp/evalkb)")
    p.add_argument("--questions", default="tests/eval_questions.jsonl", help="JSON-lines question file")
    p.add_argument("--out", type=Path, help="markdown file whose bench-qa section is replaced (e.g. BENCHMARKS.md)")
    p.add_argument("--json", type=Path, dest="json_out", help="write the per-question results here")
    p.add_argument("-k", type=int, default=5, help="hits per search (default 5)")
    args = p.parse_args(argv)

    from vrag import KnowledgeBase

    argv = sys.argv[1:] if argv is None else argv
    command = "python -m vrag.bench_qa " + " ".join(shlex.quote(a) for a in argv)
    questions = load_questions(args.questions)
    kb = KnowledgeBase(args.db)
    if not kb.status()["videos"]:
        raise SystemExit(f"{args.db}: nothing indexed; run `vrag index ../shared/eval/media ../shared/eval/audio --db {args.db}`")
    kb.ask("warm-up: load the models")  # model loading is not query latency
    rows = evaluate(kb, questions, k=args.k, progress=True)
    summary = summarise(rows)
    print(per_question_table(rows))
    print()
    ans = summary["answerable"]
    print(f"answerable {ans['n']}: recall@1 {_pct(ans['r1'])}  recall@{args.k} {_pct(ans['r5'])}  evidence@{args.k} {_pct(ans['ev5'])}  "
          f"citation {_pct(ans['citation'])};  keyword acc (all {len(rows)}) {_pct(summary['overall']['keyword'])};  "
          f"routes {summary['routes']};  search p50 {summary['search_p50'] * 1000:.0f} ms, ask p50 {summary['ask_p50'] * 1000:.0f} ms")
    if args.json_out:
        args.json_out.write_text(json.dumps({"command": command, "summary": summary, "questions": rows}, indent=1), encoding="utf-8")
    if args.out:
        _write(args.out, report(rows, summary, command, args.db, args.questions, args.k), BEGIN, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
