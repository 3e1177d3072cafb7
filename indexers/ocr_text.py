"""Repair OCR lines whose word spaces were lost (PP-OCR drops tight spaces in bold titles).

"TwinStudytoControlforGenetics" -> "Twin Study to Control for Genetics", using
wordninja's English unigram model. Only long letter runs are split, and only when
every piece is a plausible word, so names and ordinary words are left alone.
A shorter run that is no word is split only into two common words, and only where its case shows
a lost space: capitals throughout ("OILYSKIN" -> "OILY SKIN") or a capital inside ("KeepThis" ->
"Keep This"). A name such as "Antopolski" is no two common words; "Unionville" is written as a name,
and a place name in capitals keeps its ending ("UNIONVILLE"); a known word such as "YouTube" or
"Sunscreen" is left alone.
A word run into the figure after it is set apart too ("LIVE12:17" -> "LIVE 12:17",
"Wed18:38" -> "Wed 18:38"), so the word is found by search and the figure read as one;
codes that are no word ("SPF30") stay whole.
"""

from __future__ import annotations

import re

from vrag.registry import require

__all__ = ["restore_spaces"]

_RUN = re.compile(r"[A-Za-z]{12,}")
_SHORT_RUN = re.compile(r"(?<![A-Za-z])[A-Za-z]{6,11}(?![A-Za-z])")
#: A shorter run is split in two words that are both among this many most frequent English words
#: (wordninja's unigram list: "oily" is about the 23,000th, "acer" the 49,000th).
COMMON_RANK = 30000
#: Endings of place names: "UNIONVILLE", "PARKWOOD" on a map are one name, not two words.
_NAME_ENDINGS = frozenset("ville wood field ford burg borough ton ham port bridge brook haven dale glen land town "
                          "side view mount stone lake water worth ley hill mouth bury by".split())
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


def _rank(word: str) -> float:
    """How frequent ``word`` is: its place in wordninja's English list (1 = most frequent; inf if absent)."""
    import math

    model = require("wordninja", "Restoring spaces in on-screen text", "ocr").DEFAULT_LANGUAGE_MODEL
    cost = model._wordcost.get(word.lower())
    return math.inf if cost is None else math.exp(cost) / math.log(len(model._wordcost))


def _split_two(run: str) -> str:
    wordninja = require("wordninja", "Restoring spaces in on-screen text", "ocr")
    if run.lower() in wordninja.DEFAULT_LANGUAGE_MODEL._wordcost:
        return run  # a word ("Sunscreen", "YouTube")
    pieces = wordninja.split(run)
    if len(pieces) != 2 or "".join(pieces) != run or any(len(p) < 3 or _rank(p) > COMMON_RANK for p in pieces):
        return run
    first, second = pieces
    shows = (run.isupper() and second.lower() not in _NAME_ENDINGS) or (first[-1].islower() and second[0].isupper())
    return f"{first} {second}" if shows else run


def _set_apart(word: str) -> str:
    wordninja = require("wordninja", "Restoring spaces in on-screen text", "ocr")
    return word + " " if word.lower() in wordninja.DEFAULT_LANGUAGE_MODEL._wordcost else word


def restore_spaces(text: str) -> str:
    """``text`` with spaces restored inside long run-together letter sequences and between a word
    and the figure it runs into."""
    text = _RUN.sub(lambda m: _split(m.group(0)), text)
    text = _SHORT_RUN.sub(lambda m: _split_two(m.group(0)), text)
    return _GLUED.sub(lambda m: _set_apart(m.group(0)), text)
