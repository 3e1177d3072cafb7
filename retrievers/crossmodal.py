"""What a video both says and shows: "Which product feature is both said in the voice-over and
listed on the benefits card?" is answered by the words its speech and its screen text share
("dry finish technology": spoken in the ad, and a line of the benefits card).

:func:`asks_said_and_shown` reads the question; :func:`shared_phrases` finds, per video, the runs
of two to :data:`LONGEST` words that a screen-text piece and a speech piece of the evidence both
hold (the longest first; none that begins or ends with a function word).
"""

from __future__ import annotations

import re
from typing import Sequence

from .query_terms import STOP_WORDS

__all__ = ["asks_said_and_shown", "shared_phrases", "holds", "LONGEST"]

#: The longest shared run looked for, in words.
LONGEST = 5
_SAID = re.compile(r"\b(?:said|says|say|spoken|speaks?|voice-?over|narrat\w*|mention\w*|talks? about|sung|sings?)\b", re.I)
_SHOWN = re.compile(r"\b(?:listed|shown|shows?|on[- ]screen|written|displayed|printed|cards?|slides?|graphics?|"
                    r"captions?|banners?)\b", re.I)
_BOTH = re.compile(r"\b(?:both|also|as well|agrees?|match(?:es)?|same|too)\b", re.I)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def asks_said_and_shown(question: str) -> bool:
    """The question asks for what is both said and shown on screen."""
    return bool(_SAID.search(question) and _SHOWN.search(question) and _BOTH.search(question))


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _runs(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for n in range(2, LONGEST + 1) for i in range(len(words) - n + 1)
            if words[i] not in STOP_WORDS and words[i + n - 1] not in STOP_WORDS}


def shared_phrases(screen: Sequence[tuple[str, str]], speech: Sequence[tuple[str, str]]) -> list[str]:
    """The runs of words a screen text and a speech text of the same video both hold; ``screen`` and
    ``speech`` are ``(video_id, text)`` pairs. Longest first; a run inside a longer one is left out."""
    spoken: dict[str, set[tuple[str, ...]]] = {}
    for video, text in speech:
        spoken.setdefault(video, set()).update(_runs(_words(text)))
    found: set[tuple[str, ...]] = set()
    for video, text in screen:
        found |= _runs(_words(text)) & spoken.get(video, set())
    longest = sorted(found, key=len, reverse=True)
    kept: list[tuple[str, ...]] = []
    for run in longest:
        if not any(_inside(run, k) for k in kept):
            kept.append(run)
    return [" ".join(run) for run in kept]


def _inside(run: tuple[str, ...], longer: tuple[str, ...]) -> bool:
    n = len(run)
    return any(longer[i:i + n] == run for i in range(len(longer) - n + 1))


def holds(text: str, phrase: str) -> bool:
    """``text`` holds ``phrase`` (one of :func:`shared_phrases`) as whole words, case aside."""
    return f" {phrase} " in f" {' '.join(_words(text))} "
