"""Repair OCR lines whose word spaces were lost (PP-OCR drops tight spaces in bold titles).

"TwinStudytoControlforGenetics" -> "Twin Study to Control for Genetics", using
wordninja's English unigram model. Only long letter runs are split, and only when
every piece is a plausible word, so names and ordinary words are left alone.
"""

from __future__ import annotations

import re

from vrag.registry import require

__all__ = ["restore_spaces"]

_RUN = re.compile(r"[A-Za-z]{12,}")
_SHORT_OK = {"a", "i"}


def _split(run: str) -> str:
    wordninja = require("wordninja", "Restoring spaces in on-screen text", "ocr")
    pieces = wordninja.split(run)
    if len(pieces) < 2 or "".join(pieces) != run:
        return run
    if any(len(p) < 2 and p.lower() not in _SHORT_OK for p in pieces):
        return run
    return " ".join(pieces)


def restore_spaces(text: str) -> str:
    """``text`` with spaces restored inside long run-together letter sequences."""
    return _RUN.sub(lambda m: _split(m.group(0)), text)
