"""Search latency through the services: ``python -m benchmarks.bench_services --db KB --out BENCHMARKS.md``.

Side by side in one run, on one knowledge base (copied to a temp dir first: nothing writes to ``--db``):

* ``vrag search QUERY --json`` from a fresh process (imports, model loading and the search), ``--cold`` runs;
* ``vrag serve``: seconds until it answers, its first ``GET /search`` (models load then), and warm
  ``GET /search`` latency over the queries (httpx, one client);
* ``vrag mcp`` over stdio with the official MCP client: first ``search`` tool call, then warm calls.

Both servers run at the same time and each query goes to one, then the other (side by side).

Each figure is wall time; the machine's other load during the run is reported (``Clock``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Clock, Section, command_line, measured

__all__ = ["SECTION", "main"]

SECTION = Section("<!-- bench-services:begin -->", "<!-- bench-services:end -->")
QUERIES = ["twin study", "where is the light roast temperature explained", "what does the speaker say about memory",
           "glacier", "music with singing", "the chart on the slide", "who founded the company", "coffee beans",
           "interview at the end", "how are the results measured"]


def _env() -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error", HF_HUB_DISABLE_PROGRESS_BARS="1")


def _vrag(*args: str) -> list[str]:
    return [sys.executable, "-m", "vrag", *args]


def cold_cli(db: str, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        subprocess.run(_vrag("search", QUERIES[i % len(QUERIES)], "--json", "--db", db), env=_env(),
                       stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return times


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_serve(db: str) -> tuple[subprocess.Popen, int, float]:
    import httpx

    port = _free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(_vrag("serve", "--db", db, "--port", str(port)), env=_env(), stderr=subprocess.DEVNULL)
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/status", timeout=60).raise_for_status()
            return proc, port, time.perf_counter() - started
        except httpx.TransportError:
            if proc.poll() is not None:
                raise RuntimeError("vrag serve exited") from None
            time.sleep(0.05)


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


async def _side_by_side(db: str, rounds: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both servers up at once; each query goes to ``vrag serve`` and then to ``vrag mcp``, so the
    machine's load falls on both alike."""
    import httpx
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    http: dict[str, Any] = {"warm": []}
    mcp: dict[str, Any] = {"warm": []}
    proc, port, http["up"] = _start_serve(db)
    params = StdioServerParameters(command=sys.executable, args=["-m", "vrag", "mcp", "--db", db], env=_env())
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            started = time.perf_counter()
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                mcp["up"] = time.perf_counter() - started

                async def tool(q: str) -> float:
                    t = time.perf_counter()
                    res = await session.call_tool("search", {"query": q})
                    assert not res.is_error, res
                    return time.perf_counter() - t

                http["first"] = _timed(lambda: client.get("/search", params={"q": QUERIES[0]}).raise_for_status())
                mcp["first"] = await tool(QUERIES[0])
                for _ in range(rounds):
                    for q in QUERIES:
                        http["warm"].append(_timed(lambda q=q: client.get("/search", params={"q": q}).raise_for_status()))
                        mcp["warm"].append(await tool(q))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return http, mcp


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def render(cli: list[float], http: dict[str, Any], mcp: dict[str, Any], clock: Clock, db: str) -> str:
    ms = 1000.0
    lines = [measured(command_line("benchmarks.bench_services")), "",
             f"Knowledge base: `{db}`. During the run other processes used {clock.others:.0f} CPU-seconds "
             f"over {clock.wall:.0f} s of wall time (a shared, contended machine).", "",
             "| path | ready | first search | warm search p50 | warm p95 | n |", "|---|---|---|---|---|---|",
             f"| `vrag search --json` (fresh process) | | {statistics.median(cli):.2f} s (median) | | | {len(cli)} |",
             f"| `vrag serve` `GET /search` | {http['up']:.2f} s | {http['first']:.2f} s | "
             f"{_p(http['warm'], 0.5) * ms:.0f} ms | {_p(http['warm'], 0.95) * ms:.0f} ms | {len(http['warm'])} |",
             f"| `vrag mcp` (stdio) `search` tool | {mcp['up']:.2f} s | {mcp['first']:.2f} s | "
             f"{_p(mcp['warm'], 0.5) * ms:.0f} ms | {_p(mcp['warm'], 0.95) * ms:.0f} ms | {len(mcp['warm'])} |",
             "", "ready: process start until it answers (`/status`; the MCP handshake); first search: "
             "the models load then; warm: the same process afterwards, over the queries."]
    return SECTION.render(lines)


def main(argv: list[str] | None = None) -> int:
    import anyio

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="a knowledge base (copied; not written)")
    ap.add_argument("--cold", type=int, default=3, help="fresh-process CLI searches (default 3)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds over the queries for warm latency (default 3)")
    ap.add_argument("--out", type=Path, help="write the section into this BENCHMARKS.md")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-services-") as tmp:
        db = shutil.copytree(args.db, Path(tmp) / "kb")
        with Clock() as clock:
            cli = cold_cli(str(db), args.cold)
            http, mcp = anyio.run(_side_by_side, str(db), args.rounds)
    SECTION.publish(render(cli, http, mcp, clock, args.db), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
