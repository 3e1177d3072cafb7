"""``vrag mcp``: the official MCP client (``mcp.client``) spawns ``python -m vrag mcp --db KB`` over stdio
(and connects over streamable HTTP) and calls every tool on a real indexed lecture. The tools answer
with the CLI's ``--json`` and bad input is a one-line tool error."""

from __future__ import annotations

import json
import subprocess
import sys

import anyio
import pytest

from vrag.cli import main
from support.services import free_port, index_lecture, spawn, vrag_env, wait_for_port

pytest.importorskip("mcp", reason="the MCP tests need the mcp extra (pip install 'vrag[mcp]')")

TOOLS = {"search", "ask", "status", "list_videos", "get_transcript"}


@pytest.fixture(scope="module")
def kb(tmp_path_factory, lecture):
    return index_lecture(lecture, tmp_path_factory.mktemp("mcp") / "kb")


def _result(res) -> dict:
    """A tool result as (is_error, payload): the structured JSON, or the error's text."""
    if res.is_error:
        return {"error": "\n".join(c.text for c in res.content)}
    assert res.structured_content is not None, res
    # the text content carries the same JSON for clients that read only text
    assert json.loads(res.content[0].text) == res.structured_content
    return res.structured_content


async def _session_calls(kb) -> dict:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "vrag", "mcp", "--db", str(kb.store.path)],
                                   env=vrag_env())
    out = {}
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        out["tools"] = {t.name: t for t in (await session.list_tools()).tools}
        calls = {
            "status": ("status", {}),
            "videos": ("list_videos", {}),
            "search": ("search", {"query": "glacier thickness", "k": 3}),
            "search_filtered": ("search", {"query": "glacier", "k": 5, "modality": "ocr", "start": "0:00", "end": 6}),
            "ask": ("ask", {"question": "How much thickness does the largest glacier lose every year?"}),
            "transcript": ("get_transcript", {"video": "lecture one.mp4", "start": "0:00", "end": "0:05"}),
            "transcript_all": ("get_transcript", {"video": kb.videos()[0]["video_id"]}),
            "bad_k": ("search", {"query": "glacier", "k": 0}),
            "bad_mode": ("search", {"query": "glacier", "mode": "psychic"}),
            "bad_time": ("get_transcript", {"video": "lecture one.mp4", "start": "half past"}),
            "bad_video": ("get_transcript", {"video": "nope.mp4"}),
            "empty_question": ("ask", {"question": "  "}),
            "wrong_type": ("search", {"query": "glacier", "k": "many"}),
        }
        for key, (tool, args) in calls.items():
            out[key] = _result(await session.call_tool(tool, args))
    return out


@pytest.fixture(scope="module")
def calls(kb):
    return anyio.run(_session_calls, kb)


def test_lists_the_five_tools_with_schemas(calls):
    assert set(calls["tools"]) == TOOLS
    search = calls["tools"]["search"].input_schema
    assert search["required"] == ["query"] and {"k", "mode", "video", "modality", "start", "end"} <= set(search["properties"])
    assert calls["tools"]["get_transcript"].input_schema["required"] == ["video"]


def test_status_and_list_videos_are_the_cli_json(calls, kb, capsys):
    assert main(["status", "--json", "--db", str(kb.store.path)]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert calls["status"] == cli
    assert calls["videos"] == {"videos": cli["videos"]}
    assert [v["path"].endswith("lecture one.mp4") for v in cli["videos"]] == [True]


def test_search_is_the_cli_json(calls, kb, capsys):
    assert main(["search", "glacier thickness", "-k", "3", "--json", "--db", str(kb.store.path)]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert calls["search"] == cli
    assert "glacier" in calls["search"]["hits"][0]["text"].lower()
    assert 6.0 < calls["search"]["hits"][0]["start"] < 14.0  # the second slide's narration


def test_search_filters_reach_the_knowledge_base(calls):
    hits = calls["search_filtered"]["hits"]
    assert hits and all(h["modality"] == "ocr" and h["start"] <= 6.0 for h in hits)


def test_ask_answers_with_a_citation(calls):
    ask = calls["ask"]
    assert ask["found"] and ("metre" in ask["answer"].lower() or "meter" in ask["answer"].lower())
    assert ask["citations"] and ask["citations"][0]["path"].endswith("lecture one.mp4")
    assert set(ask) >= {"question", "route", "answer", "citations", "hits", "found"}


def test_transcript_in_a_range_has_speech_and_screen_text(calls, lecture):
    t = calls["transcript"]
    assert t["path"].endswith("lecture one.mp4") and t["start"] == 0.0 and t["end"] == 5.0
    kinds = {s["modality"] for s in t["segments"]}
    assert kinds == {"asr", "ocr"}
    assert all(s["start"] <= 5.0 for s in t["segments"])
    text = " ".join(s["text"] for s in t["segments"]).lower()
    assert "volcanoes of hawaii" in text and "hot spot" in text
    assert "geothermal" not in text  # the third slide starts after 0:05
    whole = " ".join(s["text"] for s in calls["transcript_all"]["segments"]).lower()
    assert "geothermal" in whole and len(calls["transcript_all"]["segments"]) > len(t["segments"])


@pytest.mark.parametrize("key, message", [
    ("bad_k", "search: k=0: ask for at least one hit"),
    ("bad_mode", "search: mode 'psychic': valid: auto, naive, hybrid, graph, library"),
    ("bad_time", "get_transcript: from: not a time: 'half past' (use seconds, mm:ss or h:mm:ss)"),
    ("bad_video", "get_transcript: video 'nope.mp4': no video indexed in"),
    ("empty_question", "ask: empty question"),
])
def test_bad_input_is_a_one_line_tool_error(calls, key, message):
    """The CLI's message (what `vrag: error:` prints), after the SDK's "Error executing tool NAME: "."""
    error = calls[key].get("error")
    assert error is not None and error.startswith("Error executing tool " + message), calls[key]
    assert "\n" not in error and "Traceback" not in error


def test_wrong_argument_types_are_refused_by_the_schema(calls):
    error = calls["wrong_type"].get("error", "")
    assert "k" in error and "integer" in error.lower(), calls["wrong_type"]


async def _http_status(port: int) -> dict:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        names = {t.name for t in (await session.list_tools()).tools}
        return {"tools": names, "status": _result(await session.call_tool("status", {}))}


def test_streamable_http_transport(kb):
    port = free_port()
    proc = spawn(["mcp", "--http", "--port", str(port), "--db", str(kb.store.path)])
    try:
        wait_for_port(port, proc)
        got = anyio.run(_http_status, port)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert got["tools"] == TOOLS
    assert got["status"] == kb.status()


def test_http_on_a_network_address_needs_a_token(kb):
    done = subprocess.run([sys.executable, "-m", "vrag", "mcp", "--http", "--host", "0.0.0.0", "--db",
                           str(kb.store.path)], env={**vrag_env(), "VRAG_TOKEN": ""}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "vrag: error: --host 0.0.0.0: vrag mcp --http on a non-local address needs a token (--token TOKEN or "
        "VRAG_TOKEN); clients then send `Authorization: Bearer TOKEN`"]


def test_ctrl_c_stops_the_stdio_server(kb):
    """SIGINT (Ctrl-C, or the agent's host) ends it at once, even while it waits for a request on stdin."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "vrag", "mcp", "--db", str(kb.store.path)], env=vrag_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(5)  # started, and blocked reading stdin
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert proc.stdout.read() == b""  # nothing but protocol ever goes to stdout
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdin.close()
