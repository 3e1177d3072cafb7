"""Find the media files under the paths a user gives to ``vrag index``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

__all__ = ["VIDEO_EXTS", "AUDIO_EXTS", "MEDIA_EXTS", "Found", "Skipped", "discover"]

VIDEO_EXTS = frozenset({".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".mpg", ".mpeg"})
AUDIO_EXTS = frozenset({".wav", ".mp3", ".flac", ".m4a", ".ogg"})
MEDIA_EXTS = VIDEO_EXTS | AUDIO_EXTS


@dataclass(frozen=True)
class Found:
    path: str  # as the user would write it: the given root joined with the relative path
    abs_path: str


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def _is_media(name: str) -> bool:
    return Path(name).suffix.lower() in MEDIA_EXTS


def _hidden(name: str) -> bool:
    return name.startswith(".")  # also macOS "._x.mp4" resource forks


def discover(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Found], list[Skipped]]:
    """Media files under ``paths`` (files or folders, walked recursively, links followed).

    Returns the files found (each once, in a stable order) and what could not be read,
    each with a reason: missing paths, unreadable folders, symlink loops, and files
    named explicitly whose type vrag does not index.
    """
    found: dict[str, Found] = {}
    skipped: list[Skipped] = []
    for raw in paths:
        given = os.fspath(raw)
        p = Path(given)
        if p.is_file():
            if _is_media(p.name):
                found.setdefault(os.path.abspath(given), Found(given, os.path.abspath(given)))
            else:
                skipped.append(
                    Skipped(given, f"unsupported file type {p.suffix or '(none)'!r}; supported: "
                            + " ".join(sorted(MEDIA_EXTS)))
                )
        elif p.is_dir():
            _walk(given, found, skipped)
        elif p.is_symlink():
            skipped.append(Skipped(given, "broken symbolic link"))
        elif p.exists():
            skipped.append(Skipped(given, "not a regular file or folder"))
        else:
            skipped.append(Skipped(given, "no such file or folder"))
    return list(found.values()), skipped


def _walk(top: str, found: dict[str, Found], skipped: list[Skipped]) -> None:
    visited: set[str] = set()

    def onerror(err: OSError) -> None:
        skipped.append(Skipped(str(err.filename or top), f"folder not readable: {err.strerror or err}"))

    for dirpath, dirnames, filenames in os.walk(top, onerror=onerror, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in visited:
            dirnames[:] = []
            continue
        visited.add(real)
        keep = []
        for d in sorted(dirnames):
            if _hidden(d):
                continue
            full = os.path.join(dirpath, d)
            target = os.path.realpath(full)
            if os.path.islink(full) and (target == real or real.startswith(target + os.sep)):
                skipped.append(Skipped(full, f"symbolic link loop (points back to {target})"))
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if _hidden(name) or not _is_media(name):
                continue
            full = os.path.join(dirpath, name)
            if os.path.islink(full) and not os.path.exists(full):
                skipped.append(Skipped(full, "broken symbolic link"))
                continue
            found.setdefault(os.path.abspath(full), Found(full, os.path.abspath(full)))
