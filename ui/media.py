"""Which files the UI may hand to the browser: indexed media and the DB's own thumbnails, nothing else.

Every path is resolved with :func:`os.path.realpath` (symlinks and ``..`` followed) before it is
compared, so a crafted path (``../../etc/passwd``, a symlink that points out, an absolute path that
was never indexed) is refused with a :class:`MediaAccessError` that names it. No Streamlit import:
the checks are unit-tested on their own.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from vrag.discover import AUDIO_EXTS, MEDIA_EXTS
from vrag.errors import VragError

__all__ = ["MediaAccessError", "MediaGuard", "is_audio"]

_IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".webp"})


class MediaAccessError(VragError):
    """The UI was asked to serve a file that is not indexed media (or not the DB's thumbnail)."""


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.path.expanduser(os.fspath(path)))


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives, or a mix of absolute and relative
        return False


def is_audio(path: str | os.PathLike[str]) -> bool:
    return os.path.splitext(os.fspath(path))[1].lower() in AUDIO_EXTS


class MediaGuard:
    """Allows exactly: the real paths of indexed videos, media files inside the roots the user
    indexed from the UI, and thumbnails inside the knowledge-base directory.

    >>> guard = MediaGuard(["/videos/talk.mp4"], db_dir="/kb")    # doctest: +SKIP
    >>> guard.media("/videos/../videos/talk.mp4")                 # doctest: +SKIP
    '/videos/talk.mp4'
    """

    def __init__(self, indexed: Iterable[str | os.PathLike[str]], db_dir: str | os.PathLike[str],
                 roots: Iterable[str | os.PathLike[str]] = (), kb_files: Any = None):
        self.files = {_real(p) for p in indexed if p}
        self.roots = [_real(r) for r in roots if r]
        self.db_dir = _real(db_dir)
        self.kb_files = kb_files if kb_files is not None and kb_files.remote else None  # object storage

    @classmethod
    def for_kb(cls, kb: Any, roots: Iterable[str] = ()) -> "MediaGuard":
        """From the knowledge base's videos table (``abs_path`` of every indexed file)."""
        rows = kb.store.videos.all() if kb.store.exists() else []
        return cls([r["abs_path"] for r in rows], kb.store.path, roots, kb.store.files)

    def media(self, path: str | os.PathLike[str]) -> str:
        """The real path of ``path`` if it may be played; MediaAccessError otherwise."""
        if not path:
            raise MediaAccessError("no media path given")
        real = _real(path)
        allowed = real in self.files or (
            os.path.splitext(real)[1].lower() in MEDIA_EXTS and any(_inside(real, root) for root in self.roots)
        )
        if not allowed:
            raise MediaAccessError(f"refused to serve {os.fspath(path)!r}: it is not an indexed video or audio file")
        if not os.path.isfile(real):
            raise MediaAccessError(f"{os.fspath(path)}: the indexed file is gone (moved or deleted); re-index its folder")
        return real

    def thumb(self, relative: str | os.PathLike[str]) -> str | bytes:
        """The real path of a thumbnail stored under the DB directory (paths are relative to it);
        for a knowledge base on object storage, the thumbnail's bytes."""
        rel = os.fspath(relative)
        if self.kb_files is not None:
            if os.path.splitext(rel)[1].lower() not in _IMAGE_EXTS:
                raise MediaAccessError(f"refused to serve thumbnail {rel!r}: not an image")
            try:
                return self.kb_files.read(rel)  # refuses names outside the thumbnails folder
            except VragError as exc:
                raise MediaAccessError(f"thumbnail {rel!r}: {exc}") from None
        real = _real(os.path.join(self.db_dir, rel))
        if (os.path.isabs(rel) or not _inside(real, self.db_dir) or real == self.db_dir
                or os.path.splitext(real)[1].lower() not in _IMAGE_EXTS):
            raise MediaAccessError(f"refused to serve thumbnail {rel!r}: outside the knowledge-base directory")
        if not os.path.isfile(real):
            raise MediaAccessError(f"thumbnail {rel!r} is missing")
        return real
