"""Repair OCR lines whose word spaces were lost (PP-OCR drops tight spaces in bold titles).

"TwinStudytoControlforGenetics" -> "Twin Study to Control for Genetics", using
wordninja's English unigram model. Only long letter runs are split, and only when
every piece is a plausible word, so names and ordinary words are left alone.
A word run into the figure after it is set apart too ("LIVE12:17" -> "LIVE 12:17",
"Wed18:38" -> "Wed 18:38"), so the word is found by search and the figure read as one;
codes that are no word ("SPF30") stay whole.
"""

from __future__ import annotations

import re

from vrag.registry import require

__all__ = ["restore_spaces"]

_RUN = re.compile(r"[A-Za-z]{12,}")
_GLUED = re.compile(r"(?<![A-Za-z])[A-Za-z]{3,}(?=\d)")
_SHORT_OK = {"a", "i"}


def _split(run: str) -> str:
    wordninja = require("wordninja", "Restoring spaces in on-screen text", "ocr")
    pieces = wordninja.split(run)
    if len(pieces) < 2 or "".join(pieces) != run:
        return run
    if any(len(p) < 2 and p.lower() not in _SHORT_OK for p in pieces):
        return run
    return " ".join(pieces)


def _set_apart(word: str) -> str:
    wordninja = require("wordninja", "Restoring spaces in on-screen text", "ocr")
    return word + " " if word.lower() in wordninja.DEFAULT_LANGUAGE_MODEL._wordcost else word


def restore_spaces(text: str) -> str:
    """``text`` with spaces restored inside long run-together letter sequences and between a word
    and the figure it runs into."""
    text = _RUN.sub(lambda m: _split(m.group(0)), text)
    return _GLUED.sub(lambda m: _set_apart(m.group(0)), text)
