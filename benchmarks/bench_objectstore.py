"""Object-storage knowledge base: ``python -m benchmarks.bench_objectstore --out BENCHMARKS.md`` (``make bench``).

Indexes the same generated lectures into a local directory and into ``s3://`` on a local S3
server (moto, on loopback), then runs the same searches and questions on both. Reports wall
times and, for S3, the number of HTTP requests per indexed video, per search and per question.
Loopback has no network latency, so the time difference is vrag's and LanceDB's own overhead;
the request counts are what carries over to a real bucket (each request costs one round trip,
though LanceDB issues many of them in parallel).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Section, command_line, make_clips, measured

__all__ = ["SECTION", "main"]

SECTION = Section("<!-- bench-objectstore:begin -->", "<!-- bench-objectstore:end -->")
QUESTIONS = [
    "what does the lecture say about volcanoes", "how do bees communicate", "explain the water cycle",
    "what is photosynthesis", "who built the first computer", "how are glaciers formed",
    "what is said about coffee", "where is the rocket launched", "how does the heart pump blood",
    "what is the speed of light",
]


class _Requests(logging.Handler):
    """Counts the HTTP requests moto's server logs (one INFO record each)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _server() -> tuple[object, str]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise SystemExit("the object-storage benchmark needs moto: pip install -e '.[dev]'") from None
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def _timed_queries(kb: object, requests: _Requests, ask: bool) -> tuple[list[float], float]:
    """Seconds per call (each question twice: the second is warm) and requests per call."""
    times = []
    before = requests.count
    for question in QUESTIONS * 2:
        started = time.perf_counter()
        kb.ask(question) if ask else kb.search(question, k=10)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - started)
    return times, (requests.count - before) / len(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_objectstore", description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=4, help="generated lectures to index (default 4)")
    p.add_argument("--seconds", type=float, default=30.0, help="length of each (default 30)")
    p.add_argument("--work", type=Path, default=Path("data/bench/ray"), help="where the clips are cached")
    p.add_argument("--out", type=Path, help="markdown file whose bench-objectstore section is replaced")
    args = p.parse_args(argv)
    import boto3

    from vrag import KnowledgeBase

    folder = args.work
    media = make_clips(folder, args.clips, args.seconds)
    clips = sorted(folder.glob("clip_*.mp4"))[: args.clips]
    server, endpoint = _server()
    requests = _Requests()
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.setLevel(logging.INFO)
    werkzeug.propagate = False
    werkzeug.addHandler(requests)
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench", aws_secret_access_key="bench",
                 region_name="us-east-1").create_bucket(Bucket="vrag-bench")
    options = (f"aws_endpoint={endpoint},aws_access_key_id=bench,aws_secret_access_key=bench,"
               "aws_region=us-east-1,allow_http=true")
    rows = {}
    try:
        with tempfile.TemporaryDirectory(prefix="vrag-bench-os-") as tmp:
            os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
            print("warming up (models load once per process) ...", file=sys.stderr, flush=True)
            warm = KnowledgeBase(str(Path(tmp) / "warm-up"))
            warm.index(clips[:1])
            warm.ask(QUESTIONS[0])
            for label, db, extra in (("local directory", str(Path(tmp) / "kb"), {}),
                                     ("s3:// (moto on loopback)", "s3://vrag-bench/kb", {"storage_options": options})):
                print(f"{label} ...", file=sys.stderr, flush=True)
                kb = KnowledgeBase(db, **extra)
                before = requests.count
                started = time.perf_counter()
                report = kb.index(clips)
                index_s = time.perf_counter() - started
                if not report.ok:
                    raise SystemExit(f"indexing into {db} failed: {[r.reason for r in report.results if r.reason]}")
                index_requests = (requests.count - before) / len(clips)
                search, search_req = _timed_queries(kb, requests, ask=False)
                ask, ask_req = _timed_queries(kb, requests, ask=True)
                rows[label] = (index_s, index_requests, search, search_req, ask, ask_req)
    finally:
        werkzeug.removeHandler(requests)
        server.stop()  # type: ignore[attr-defined]
    p50 = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    p95 = lambda xs: sorted(xs)[int(0.95 * (len(xs) - 1))] * 1000  # noqa: E731
    lines = ["## Object-storage knowledge base (`--db s3://...`)", "",
             f"{measured(command_line('benchmarks.bench_objectstore', argv))}.", "",
             f"{args.clips} generated lectures of {args.seconds:g} s ({media:.0f} s of media), every default stage, "
             f"indexed in-process (models loaded beforehand) into each knowledge base; then {len(QUESTIONS)} searches (k=10) and "
             f"{len(QUESTIONS)} questions, each run twice. The S3 server is moto on loopback: no network latency.", "",
             "| knowledge base | index wall time | requests per video | search p50 (p95) | requests per search "
             "| ask p50 (p95) | requests per ask |", "|---|---|---|---|---|---|---|"]
    for label, (index_s, index_req, search, search_req, ask, ask_req) in rows.items():
        remote = label.startswith("s3")
        lines.append(f"| {label} | {index_s:.1f} s | {f'{index_req:.0f}' if remote else '-'} | "
                     f"{p50(search):.0f} ms ({p95(search):.0f}) | {f'{search_req:.0f}' if remote else '-'} | "
                     f"{p50(ask):.0f} ms ({p95(ask):.0f}) | {f'{ask_req:.0f}' if remote else '-'} |")
    lines += ["", "The request counts are what a real bucket adds: each is one round trip (LanceDB issues many in "
              "parallel, so the added latency is less than count x RTT). Not measured against a real bucket."]
    SECTION.publish(SECTION.render(lines), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
