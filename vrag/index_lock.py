"""One writer per knowledge base: ``vrag index``, ``remove`` and ``reembed`` hold an exclusive lock.

A second writer on the same directory refuses at once with a clear message naming the holder
(pid, host, command, since when) instead of interleaving its writes with the first. Readers
(search, ask, the UI) never take the lock: LanceDB gives them a consistent table version while
a writer commits new ones.

The lock is an OS advisory lock (``fcntl.flock``) on ``<db>/.vrag-write.lock``: the kernel drops
it when the holder exits, even on ``kill -9``, so a crashed indexer never leaves a stale lock.
Object-store knowledge bases (``s3://`` and friends) are not local directories and are not locked
here; concurrent writers there rely on the store's own commit protocol (see the scale-out docs).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import VragError

__all__ = ["LOCK_NAME", "IndexLockedError", "write_lock"]

LOCK_NAME = ".vrag-write.lock"


class IndexLockedError(VragError):
    """Another process is writing to this knowledge base."""


def _is_remote(db: str) -> bool:
    return "://" in db


@contextmanager
def write_lock(db: str | os.PathLike[str], action: str = "index", name: str | None = None) -> Iterator[None]:
    """Hold the knowledge base's write lock for the block; raise :class:`IndexLockedError` at once
    when another process holds it. Re-entrant within one process is not needed: callers take it
    once, at the public entry point. ``db`` is the directory holding the lock (an object-store
    knowledge base passes its local work directory: the lock then covers this machine only);
    ``name`` is what messages call the knowledge base."""
    db = os.fspath(db)
    label = name or db
    if _is_remote(db) or sys.platform == "win32":
        yield
        return
    import fcntl

    path = Path(db)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise VragError(f"{label}: cannot open the knowledge base for writing: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(f"{label}: another process is writing to this knowledge base "
                                   f"({_describe(fd)}); wait for it to finish, or use another --db") from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "action": action,
                  "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        try:
            yield
        finally:
            try:
                os.ftruncate(fd, 0)  # the holder note goes; a failure here must not hide the block's error
            except OSError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _describe(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"`vrag {holder['action']}`, pid {holder['pid']} on {holder['host']}, since {holder['since']}"
    except (OSError, ValueError, KeyError):
        return "holder unknown"
