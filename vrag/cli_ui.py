"""``vrag ui``: run the Streamlit app on this machine (localhost unless told otherwise)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading

from .kb_files import is_remote
from .registry import require

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def app_path() -> str:
    """The packaged Streamlit script (``vrag/ui/app.py``)."""
    from . import ui

    return os.path.join(os.path.dirname(ui.__file__), "app.py")


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    ui = sub.add_parser("ui", parents=[common], help="the web UI: ask, search, play the moments, manage the index")
    ui.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    ui.add_argument("--host", default="127.0.0.1", metavar="ADDR",
                    help="address to bind (default 127.0.0.1: this machine only; anything else exposes "
                         "your indexed videos to the network)")


def command(args: argparse.Namespace) -> list[str]:
    """The ``python -m streamlit run`` command line for ``args``."""
    cmd = [
        sys.executable, "-m", "streamlit", "run", app_path(),
        "--server.headless", "true",
        "--server.address", args.host,
        "--server.port", str(args.port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--",
    ]
    if args.db:
        cmd += ["--db", args.db if is_remote(args.db) else os.path.abspath(args.db)]
    if args.config:
        cmd += ["--config", os.path.abspath(args.config)]
    for item in args.sets:
        cmd += ["--set", item]
    return cmd


def run(args: argparse.Namespace) -> int:
    require("streamlit", "The web UI (vrag ui)", "ui")
    if not 0 < args.port < 65536:
        from .errors import ConfigError

        raise ConfigError(f"--port {args.port}: use a port between 1 and 65535")
    if args.host not in _LOOPBACK:
        print(f"vrag: warning: serving on {args.host}: anyone who can reach this address can search your "
              "knowledge base and play the indexed files (there is no login)", file=sys.stderr)
    shown = "localhost" if args.host in _LOOPBACK else args.host
    print(f"vrag ui: http://{shown}:{args.port}  (Ctrl-C to stop)", file=sys.stderr)
    proc = subprocess.Popen(command(args))
    if threading.current_thread() is threading.main_thread():  # `kill PID` of vrag ui stops the server too
        signal.signal(signal.SIGTERM, lambda signum, frame: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C reached streamlit too; let it shut down
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
        return 0
