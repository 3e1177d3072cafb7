"""``vrag eval``: retrieval, routing, answer and citation quality on a question file.

A question file is JSON lines, one question per line (blank lines and ``#`` comments skipped):

- ``question`` (required): the text asked.
- ``file`` (required): the file that holds the answer, as a file name, an indexed path or a
  video id; a list when several files hold it; ``null`` when no indexed video does (the answer
  must then say "not found" and cite nothing).
- ``span`` (optional): ``[start, end]`` in seconds where the answer is, in that file.
- ``answer_any`` (optional): the answer is right when it contains any of these words.
- ``level`` (optional): the retrieval level the router should pick: naive, hybrid or graph; or
  ``library`` for a question about the whole collection (not a router level: left out of the
  routing accuracy).

Optional extensions: ``id`` (default: the line number), ``kind`` (a label; results are also
reported per kind), ``also`` (more ``[start, end]`` spans where the same evidence is shown or
said again), ``answer_all`` (the answer must contain every one of these words), ``cite_all``
(true: the answer must also cite every file in ``file``, e.g. "which clips are weather forecasts?").

Per question it runs ``KnowledgeBase.search(question, k)`` for the ranking metrics and the
route, and ``KnowledgeBase.ask(question)`` for the answer and its citations.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable

from .errors import VragError

__all__ = ["LEVELS", "QA_LEVELS", "QAFileError", "load_qa", "run_eval", "summarise", "iou", "quantile", "NOT_FOUND"]

LEVELS = ("naive", "hybrid", "graph")
#: Levels a question may name: the router's, and ``library`` (a question about the whole collection).
QA_LEVELS = LEVELS + ("library",)
NOT_FOUND = "not found"
#: Cut-offs reported for recall@k (file, and file + time span).
CUTOFFS = (1, 5, 10)
#: Temporal IoU a hit needs for the grounding recall (R@k, IoU >= t) over questions with a span.
IOU_THRESHOLDS = (0.3, 0.5)
_FIELDS = {"question", "file", "span", "answer_any", "level", "id", "kind", "also", "answer_all", "cite_all"}
_MEDIA_NAME = re.compile(
    r"[^\s\"'“”()\[\]]+\.(?:mp4|m4v|mkv|webm|mov|avi|mpg|mpeg|ts|flac|mp3|wav|m4a|aac|ogg|oga|opus|wma)\b", re.I
)


class QAFileError(VragError):
    """A question file line is malformed; the message names the file, the line and the field."""


def load_qa(path: str | Path) -> list[dict[str, Any]]:
    """Read and check a question file; returns normalised questions (``files`` always a list,
    ``spans`` a list of (start, end), ``answer_any``/``answer_all`` lowercase lists)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise QAFileError(f"{path}: no such question file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QAFileError(f"{path}: cannot read the question file: {exc}") from None
    questions: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{n}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QAFileError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        q = _check(raw, where)
        if q["id"] in seen:
            raise QAFileError(f"{where}: field 'id': {q['id']!r} is used by an earlier line")
        seen.add(q["id"])
        questions.append(q)
    if not questions:
        raise QAFileError(f"{path}: no questions in the file")
    return questions


def _check(raw: Any, where: str) -> dict[str, Any]:
    def bad(field: str, why: str) -> QAFileError:
        return QAFileError(f"{where}: field {field!r}: {why}")

    if not isinstance(raw, dict):
        raise QAFileError(f"{where}: a line must be a JSON object, not {type(raw).__name__}")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise QAFileError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(_FIELDS))})")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise bad("question", "required, a non-empty string")
    if "file" not in raw:
        raise bad("file", "required: the file that holds the answer, a list of files, or null for none")
    files = raw["file"]
    files = [] if files is None else [files] if isinstance(files, str) else files
    if not isinstance(files, list) or not all(isinstance(f, str) and f.strip() for f in files):
        raise bad("file", "a file name, a list of file names, or null")
    spans = []
    for field in ("span", "also"):
        value = raw.get(field)
        if value is None:
            continue
        items = [value] if field == "span" else value
        if field == "also" and not isinstance(value, list):
            raise bad(field, "a list of [start, end] spans")
        for item in items:
            if (not isinstance(item, list) or len(item) != 2 or not all(_number(x) for x in item)
                    or not 0 <= item[0] <= item[1]):
                raise bad(field, f"{item!r} is not [start, end] seconds with 0 <= start <= end")
            spans.append((float(item[0]), float(item[1])))
    if spans and not files:
        raise bad("span", "a span needs a file")
    words = {}
    for field in ("answer_any", "answer_all"):
        value = raw.get(field, [])
        if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
            raise bad(field, "a list of non-empty strings")
        words[field] = [w.strip().lower() for w in value]
    level = raw.get("level")
    if level is not None and level not in QA_LEVELS:
        raise bad("level", f"{level!r}: valid: {', '.join(QA_LEVELS)}")
    cite_all = raw.get("cite_all", False)
    if not isinstance(cite_all, bool):
        raise bad("cite_all", "true or false")
    if cite_all and not files:
        raise bad("cite_all", "needs the files that must all be cited")
    ident = raw.get("id", where.rsplit(":", 1)[-1])
    if not isinstance(ident, (str, int)):
        raise bad("id", "a string")
    kind = raw.get("kind", "")
    if not isinstance(kind, str):
        raise bad("kind", "a string")
    return {"id": str(ident), "question": question.strip(), "files": files, "spans": spans, "level": level,
            "kind": kind or ("unanswerable" if not files else ""), "cite_all": cite_all, **words}


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Temporal intersection over union of two [start, end] spans (a zero-length span inside the
    other counts as a full overlap of its point)."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter < 0:
        return 0.0
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 1.0


def file_matches(hit: dict[str, Any], files: list[str]) -> bool:
    """The hit's video is one of ``files`` (a file name, an indexed path or its tail, or a video id)."""
    path = str(hit.get("path") or "")
    for f in files:
        if f in (path, hit.get("video_id")) or Path(path).name == f or path.endswith("/" + f.lstrip("/")):
            return True
    return False


def missing_files(questions: Iterable[dict[str, Any]], videos: Iterable[dict[str, Any]]) -> list[str]:
    """The files the questions name that no indexed video (``path``/``video_id`` rows) matches, in order."""
    videos = list(videos)
    out: list[str] = []
    for q in questions:
        for f in q["files"]:
            if f not in out and not any(file_matches(v, [f]) for v in videos):
                out.append(f)
    return out


def _best_iou(hit: dict[str, Any], q: dict[str, Any], tolerance: float) -> float:
    """IoU of the hit with the nearest true span; > 0 when they overlap within ``tolerance`` seconds."""
    if not file_matches(hit, q["files"]):
        return 0.0
    if not q["spans"]:
        return 1.0
    span = (float(hit.get("start") or 0.0), float(hit.get("end") or 0.0))
    best = 0.0
    for s, e in q["spans"]:
        value = iou(span, (s, e))
        if value == 0.0 and span[0] <= e + tolerance and span[1] >= s - tolerance:
            value = 1e-9  # within the slack: counts as found, adds nothing to the mean IoU
        best = max(best, value)
    return best


def _answer_ok(answer: str, citations: list[dict[str, Any]], q: dict[str, Any]) -> bool | None:
    text = (answer or "").lower()
    if not q["files"]:
        return NOT_FOUND in text and not citations
    # cite_all: every listed file must be cited (None when not asked for)
    covered = all(any(file_matches(c, [f]) for c in citations) for f in q["files"]) if q.get("cite_all") else None
    if not q["answer_any"] and not q["answer_all"]:
        return covered
    text = _MEDIA_NAME.sub(" ", text)  # "stage.mp4" in a cited path must not answer "where": on a stage
    return ((not q["answer_any"] or any(w in text for w in q["answer_any"]))
            and all(w in text for w in q["answer_all"]) and covered is not False)


def _holds_answer(hit: dict[str, Any], q: dict[str, Any]) -> bool:
    text = str(hit.get("text") or "").lower()
    if not q["answer_any"] and not q["answer_all"]:
        return False
    return (not q["answer_any"] or any(w in text for w in q["answer_any"])) and all(w in text for w in q["answer_all"])


def run_eval(kb: Any, questions: Iterable[dict[str, Any]], k: int = 10, tolerance: float = 0.0,
             mode: str = "auto", progress: Callable[[int, dict[str, Any]], None] | None = None,
             filters: dict[str, Any] | None = None, answer: bool = True) -> list[dict[str, Any]]:
    """Search and ask every question; one result row per question (the per-question JSON).

    ``filters`` go to every search (e.g. ``{"modality": ["window"]}`` for a fixed-window baseline);
    ``answer=False`` skips ``ask`` (retrieval metrics only; answer fields are then None)."""
    rows = []
    for i, q in enumerate(questions):
        t0 = time.perf_counter()
        found = kb.search(q["question"], k=k, mode=mode, filters=filters)
        t1 = time.perf_counter()
        asked = kb.ask(q["question"], mode=mode, filters=filters) if answer else None
        t2 = time.perf_counter()
        hits = found.to_json()["hits"][:k]  # the record keeps the contract's rounded values
        citations = list(asked.citations) if asked is not None else []
        said = asked.answer.text if asked is not None else ""
        answerable = bool(q["files"])
        file_rank = next((n for n, h in enumerate(hits, 1) if file_matches(h, q["files"])), None)
        overlaps = [_best_iou(h, q, tolerance) for h in hits]
        rank = next((n for n, v in enumerate(overlaps, 1) if v > 0), None)
        right_cites = sum(1 for c in citations if _best_iou(c, q, tolerance) > 0)
        routing = found.routing
        row = {
            "id": q["id"], "kind": q["kind"], "question": q["question"], "file": q["files"] or None,
            "span": list(q["spans"][0]) if q["spans"] else None,
            "expected_level": q["level"], "routed_level": routing.get("level", found.route),
            "route": found.route, "escalated": bool(found.escalated),
            "file_rank": file_rank if answerable else None,
            "rank": rank if answerable else None,
            "iou": (overlaps[rank - 1] if rank else 0.0) if answerable and q["spans"] else None,
            "ious": [round(v, 4) for v in overlaps] if answerable and q["spans"] else None,
            "evidence": any(v > 0 and _holds_answer(h, q) for h, v in zip(hits[:5], overlaps[:5]))
            if answerable and (q["answer_any"] or q["answer_all"]) else None,
            "answer_ok": _answer_ok(said, citations, q) if answer else None,
            "said_not_found": NOT_FOUND in said.lower(),
            "citations": len(citations), "right_citations": right_cites if answerable else 0,
            "answer": said,
            "cited": [{key: c.get(key) for key in ("path", "start", "end")} for c in citations],
            "hits": [{key: h.get(key) for key in ("path", "start", "end", "modality", "score", "text")} for h in hits],
            "search_ms": (t1 - t0) * 1000, "ask_ms": (t2 - t1) * 1000 if answer else None,
            "ask_route": asked.route if asked is not None else None,
        }
        rows.append(row)
        if progress is not None:
            progress(i, row)
    return rows


def _mean(values: Iterable[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _block(rows: list[dict[str, Any]], k: int) -> dict[str, Any]:
    answerable = [r for r in rows if r["file"]]
    spans = [r for r in answerable if r["span"] is not None]
    cut = [c for c in CUTOFFS if c <= k] or [k]
    cited = [r for r in answerable if r["citations"]]
    return {
        "questions": len(rows), "answerable": len(answerable),
        "file_recall": {str(c): _mean(r["file_rank"] is not None and r["file_rank"] <= c for r in answerable)
                        for c in cut},
        "span_recall": {str(c): _mean(r["rank"] is not None and r["rank"] <= c for r in answerable) for c in cut},
        "mrr": _mean(1.0 / r["rank"] if r["rank"] else 0.0 for r in answerable),
        "file_mrr": _mean(1.0 / r["file_rank"] if r["file_rank"] else 0.0 for r in answerable),
        "mean_iou": _mean(r["iou"] for r in spans),
        "iou_recall": {f"{t}": {str(c): _mean(any(v >= t for v in r["ious"][:c]) for r in spans) for c in cut if c <= 5}
                       for t in IOU_THRESHOLDS},
        "evidence_at_5": _mean(r["evidence"] for r in answerable),
        "answer_accuracy": _mean(r["answer_ok"] for r in rows),
        "citation_precision": (sum(r["right_citations"] for r in cited) / sum(r["citations"] for r in cited)
                               if cited else None),
        "false_not_found": sum(r["said_not_found"] for r in answerable),
        "unanswerable_ok": _mean(r["answer_ok"] for r in rows if not r["file"]),
    }


def summarise(rows: list[dict[str, Any]], k: int = 10) -> dict[str, Any]:
    """Overall and per-kind metrics, routing accuracy with its confusion matrix, latency per route."""
    labelled = [r for r in rows if r["expected_level"] in LEVELS]  # "library" is no router level
    confusion: dict[str, dict[str, int]] = {lvl: {p: 0 for p in LEVELS} for lvl in LEVELS}
    for r in labelled:
        confusion[r["expected_level"]][r["routed_level"]] = confusion[r["expected_level"]].get(r["routed_level"], 0) + 1
    by_route: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_route[r["route"]].append(r)
    kinds = sorted({r["kind"] for r in rows if r["kind"]})
    return {
        "k": k,
        **_block(rows, k),
        "routing": {
            "labelled": len(labelled),
            "accuracy": _mean(r["routed_level"] == r["expected_level"] for r in labelled),
            "confusion": confusion,
            "routes": dict(Counter(r["route"] for r in rows).most_common()),
            "escalated": sum(r["escalated"] for r in rows),
        },
        "latency_ms": {
            route: {"questions": len(rs),
                    "search_p50": quantile([r["search_ms"] for r in rs], 0.5),
                    "search_p95": quantile([r["search_ms"] for r in rs], 0.95),
                    "ask_p50": quantile([r["ask_ms"] for r in rs if r["ask_ms"] is not None], 0.5),
                    "ask_p95": quantile([r["ask_ms"] for r in rs if r["ask_ms"] is not None], 0.95)}
            for route, rs in sorted(by_route.items())
        },
        "kinds": {kind: _block([r for r in rows if r["kind"] == kind], k) for kind in kinds},
    }
