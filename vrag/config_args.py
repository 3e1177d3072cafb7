"""Settings from a command line: the ``--db``, ``--config`` and ``--set NAME=VALUE`` options every
entry point shares (the ``vrag`` commands, ``vrag eval``, the web UI), and the :class:`Config` they make."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from .config import Config
from .errors import VragError

__all__ = ["common_parser", "config_from_args", "parse_common"]


def common_parser(prog: str | None = None, allow_abbrev: bool = True) -> argparse.ArgumentParser:
    """The shared options, as a parent parser (``parents=[common_parser()]``)."""
    common = argparse.ArgumentParser(prog=prog, add_help=False, allow_abbrev=allow_abbrev)
    common.add_argument("--db", help="knowledge-base directory (default: data/kb, or VRAG_DB)")
    common.add_argument("--config", help="TOML config file (default: ./vrag.toml if present, or VRAG_CONFIG)")
    common.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
        help="override any setting, e.g. --set ocr_interval=1 (repeatable)",
    )
    return common


def parse_common(argv: Sequence[str], prog: str | None = None) -> argparse.Namespace:
    """Only the shared options of ``argv`` (anything else is left alone: the web UI's arguments)."""
    return common_parser(prog, allow_abbrev=False).parse_known_args(list(argv))[0]


def config_from_args(args: argparse.Namespace) -> Config:
    """The settings for a command: ``--config``, ``--db``, ``--set NAME=VALUE`` (and ``--only``,
    ``--force-asr``, the Ray options where the command has them) over vrag.toml, VRAG_* and the defaults."""
    overrides: dict[str, Any] = {}
    for item in args.sets:
        name, sep, value = item.partition("=")
        if not sep:
            raise VragError(f"--set {item!r}: expected NAME=VALUE")
        overrides[name.strip()] = value
    if args.db:
        overrides["db"] = args.db
    if getattr(args, "only", None):
        overrides["stages"] = args.only
    if getattr(args, "force_asr", False):
        overrides["use_subtitles"] = False
    for flag, setting in (("engine", "engine"), ("address", "ray_address"), ("workers", "ray_workers"),
                          ("gpus", "ray_gpus")):
        if getattr(args, flag, None) is not None:
            overrides[setting] = getattr(args, flag)
    return Config.load(args.config, **overrides)
