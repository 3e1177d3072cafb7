"""The service commands of the ``vrag`` CLI: ``mcp``, ``serve``, ``export``, ``clip`` and ``watch``.

Arguments are checked before anything heavy is imported or any model loads."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

from .errors import VragError

__all__ = ["add_parsers", "COMMANDS"]


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    mcp = sub.add_parser("mcp", parents=[common], help="a Model Context Protocol server for agents (stdio, or --http)")
    mcp.add_argument("--http", action="store_true", help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio")
    _bind_options(mcp, 8000)

    sv = sub.add_parser("serve", parents=[common], help="an HTTP JSON API: search, ask, transcripts, media, index jobs")
    _bind_options(sv, 8000)

    ex = sub.add_parser("export", parents=[common], help="a video's speech (or screen text) as SRT, WebVTT, text or JSON")
    ex.add_argument("video", metavar="VIDEO", help="indexed path, file name or video id")
    ex.add_argument("--format", default="srt", choices=["srt", "vtt", "txt", "json"], help="default srt")
    ex.add_argument("--modality", default="speech", choices=["speech", "ocr"],
                    help="speech (default) or ocr: the on-screen text")
    ex.add_argument("-o", "--out", metavar="FILE", help="write here (default: standard output)")

    cl = sub.add_parser("clip", parents=[common], help="cut a span of an indexed video into a new file (ffmpeg)")
    cl.add_argument("video", metavar="VIDEO", help="indexed path, file name or video id")
    cl.add_argument("--from", dest="start", required=True, metavar="TIME", help="start (s, mm:ss or h:mm:ss)")
    cl.add_argument("--to", dest="end", required=True, metavar="TIME", help="end (s, mm:ss or h:mm:ss)")
    cl.add_argument("-o", "--out", required=True, metavar="FILE", help="the clip to write (.mp4, .mkv, .webm, .m4a...)")

    wa = sub.add_parser("watch", parents=[common], help="keep the knowledge base in sync with a folder")
    wa.add_argument("folder", metavar="DIR")
    wa.add_argument("--settle", type=float, metavar="SECONDS",
                    help="index a file once its size is unchanged this long (default: the watch_settle setting)")


def _bind_options(p: argparse.ArgumentParser, port: int) -> None:
    p.add_argument("--host", default="127.0.0.1", metavar="ADDR",
                   help="address to bind (default 127.0.0.1: this machine only; another address needs a token)")
    p.add_argument("--port", type=int, default=port, help=f"port (default {port})")
    p.add_argument("--token", metavar="TOKEN", help="bearer token clients must send (default: VRAG_TOKEN)")


def _kb(args: argparse.Namespace):  # noqa: ANN202 - the KnowledgeBase, imported late
    from .config_args import config_from_args
    from .kb import KnowledgeBase

    return KnowledgeBase(config=config_from_args(args))


def _token(args: argparse.Namespace) -> str | None:
    return args.token or os.environ.get("VRAG_TOKEN") or None


def _cmd_mcp(args: argparse.Namespace) -> int:
    from .registry import require
    from .serve import check_bind

    if args.http:
        check_bind(args.host, args.port, _token(args), "vrag mcp --http")
    require("mcp", "The MCP server (vrag mcp)", "mcp")
    kb = _kb(args)
    if not args.http:
        from .mcp_server import run

        _exit_on_interrupt()
        run(kb)
        return 0
    import uvicorn

    from .mcp_server import build_server
    from .serve import bearer_guard

    app = build_server(kb).streamable_http_app(host=args.host)
    bearer_guard(app, _token(args))
    print(f"vrag mcp: http://{args.host}:{args.port}/mcp  (Ctrl-C to stop)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _exit_on_interrupt() -> None:
    """Ctrl-C (or SIGINT from the agent's host) ends a stdio server at once: it holds no writes, and the
    SDK would otherwise wait for its thread blocked on reading stdin."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, lambda signum, frame: os._exit(0))


def _cmd_serve(args: argparse.Namespace) -> int:
    from .registry import require
    from .serve import check_bind, run

    check_bind(args.host, args.port, _token(args))
    require("fastapi", "The HTTP API (vrag serve)", "serve")
    kb = _kb(args)
    print(f"vrag serve: http://{args.host}:{args.port}  (API docs at /docs, Ctrl-C to stop)", file=sys.stderr)
    run(kb, args.host, args.port, _token(args))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export_video

    text = export_video(_kb(args), args.video, args.format, args.modality)
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise VragError(f"-o {args.out}: cannot write: {exc.strerror or exc}") from None
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_clip(args: argparse.Namespace) -> int:
    from .clip import cut
    from .service_ops import time_arg

    start, end = time_arg(args.start, "--from"), time_arg(args.end, "--to")
    if end <= start:
        raise VragError(f"--from {args.start} --to {args.end}: the end must come after the start")
    row = _kb(args).video(args.video)
    clip = cut(row["abs_path"], start, end, args.out)
    how = "stream copy" if clip.method == "copy" else "re-encoded: the start is not on a keyframe"
    print(f"wrote {clip.path} ({clip.end - clip.start:.1f} s, {how})")
    return 0


def _cmd_watch(args: argparse.Namespace) -> int:
    from .watch import FolderWatcher

    if args.settle is not None and args.settle < 0:
        raise VragError(f"--settle {args.settle:g}: must be 0 seconds or more")
    if not os.path.isdir(args.folder):
        raise VragError(f"{args.folder}: not a folder")
    from .registry import require

    require("watchdog", "Watching a folder (vrag watch)", "watch")
    from .cli_progress import IndexProgress

    kb = _kb(args)
    stop = _stop_on_interrupt()
    try:
        with IndexProgress(enabled=sys.stderr.isatty()) as bar:  # the current file's stages, on a terminal
            watcher = FolderWatcher(kb, args.folder, args.settle, on_event=_print_event, progress=bar.update)
            print(f"vrag watch: {watcher.folder} -> {kb.store.uri} (Ctrl-C to stop)", file=sys.stderr)
            watcher.run(stop)
    except KeyboardInterrupt:
        pass
    print("vrag watch: stopped", file=sys.stderr)
    return 0


def _stop_on_interrupt() -> Any:
    """An event Ctrl-C sets: the watcher stops after the file it is indexing (nothing half-written); a
    second Ctrl-C interrupts at once. Installed whatever SIGINT was inherited as (a parent that
    ignores it would otherwise leave no way to stop the watch but killing it)."""
    import signal
    import threading

    stop = threading.Event()

    def interrupt(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, interrupt)
    return stop


def _print_event(event) -> None:  # noqa: ANN001 - a vrag.watch.WatchEvent
    detail = f" ({event.detail})" if event.detail else ""
    print(f"{event.kind}: {event.path}{detail}", flush=True)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "mcp": _cmd_mcp, "serve": _cmd_serve, "export": _cmd_export, "clip": _cmd_clip, "watch": _cmd_watch}
