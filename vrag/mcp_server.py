"""``vrag mcp``: a Model Context Protocol server (the official ``mcp`` SDK) over one knowledge base.

Tools: ``search``, ``ask``, ``status``, ``list_videos`` and ``get_transcript``. Each returns the JSON
the CLI prints with ``--json`` (built by :mod:`vrag.service_ops`, the one code path); bad input is a
tool error whose text is the one line the CLI would print. Transports: stdio (what desktop agents
spawn) and streamable HTTP (``--http``, at ``http://HOST:PORT/mcp``).
"""

from __future__ import annotations

from typing import Any, Callable

from . import service_ops as ops
from .errors import VragError

__all__ = ["build_server", "run"]

_INSTRUCTIONS = ("A local video knowledge base. `search` finds timed moments (video, start, end, text) for a "
                 "query; `ask` answers a question citing video and time span; `list_videos` and `status` say "
                 "what is indexed; `get_transcript` reads a video's speech and on-screen text in a time range. "
                 "Times are seconds or mm:ss.")


def _tool_call(fn: Callable[[], Any]) -> Any:
    """Run one tool body: vrag's own errors become one-line tool errors (the CLI's message)."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        return fn()
    except VragError as exc:
        raise ToolError(" ".join(str(exc).split())) from None


def build_server(kb: Any) -> Any:
    """An ``MCPServer`` whose tools read ``kb`` (a :class:`~vrag.kb.KnowledgeBase`)."""
    from mcp.server.mcpserver import MCPServer

    from . import __version__

    server = MCPServer(name="vrag", instructions=_INSTRUCTIONS, version=__version__, log_level="WARNING")

    @server.tool(description="Find the moments in the indexed videos that match a query. Returns the "
                 "hits (video_id, path, start, end, modality, text, score, why) and how they were found.")
    def search(query: str, k: int = 10, mode: str = "auto", video: str | list[str] | None = None,
               modality: str | list[str] | None = None, start: str | float | None = None, end: str | float | None = None) -> dict[str, Any]:
        return _tool_call(lambda: ops.search_json(kb, query, k, mode, video, modality, start, end))

    @server.tool(description="Answer a question from the indexed videos, citing video and time span for "
                 "every quote; 'Not found in the indexed videos.' when they do not answer it.")
    def ask(question: str, k: int = 8, mode: str = "auto", video: str | list[str] | None = None,
            modality: str | list[str] | None = None, start: str | float | None = None, end: str | float | None = None) -> dict[str, Any]:
        return _tool_call(lambda: ops.ask_json(kb, question, k, mode, video, modality, start, end))

    @server.tool(description="What is indexed: every video with its duration, status and record counts.")
    def status() -> dict[str, Any]:
        return _tool_call(lambda: ops.status_json(kb))

    @server.tool(description="The indexed videos: video_id, path, duration, status and record counts.")
    def list_videos() -> dict[str, Any]:
        return _tool_call(lambda: {"videos": ops.videos_json(kb)})

    @server.tool(description="A video's speech (asr) and on-screen text (ocr) between start and end "
                 "(seconds or mm:ss; the whole video without them). video: a video id, path or file name.")
    def get_transcript(video: str, start: str | float | None = None, end: str | float | None = None,
                       modality: str | list[str] | None = None) -> dict[str, Any]:
        return _tool_call(lambda: ops.transcript_json(kb, video, start, end, modality))

    return server


def run(kb: Any, http: bool = False, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``kb`` over stdio (default) or streamable HTTP until the client or Ctrl-C ends it."""
    server = build_server(kb)
    if http:
        server.run("streamable-http", host=host, port=port)
    else:
        server.run("stdio")
