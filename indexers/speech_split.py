"""Cut recognised speech into sentence-sized records using word timestamps.

The batched Whisper pipeline returns ~30 s segments; citations are more useful
when a record is one sentence (or one breath group), so long segments are cut
after sentence-ending punctuation, at pauses, and at a hard length cap.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from vrag.backends.asr import SpeechSegment

__all__ = ["split_speech", "join_words"]

MIN_SECONDS = 2.5  # a sentence shorter than this joins the next one
MAX_SECONDS = 15.0
PAUSE_SECONDS = 1.0
_ENDS = (".", "?", "!", "…")


def split_speech(seg: SpeechSegment) -> Iterator[SpeechSegment]:
    """Sentence-sized pieces of ``seg`` (``seg`` itself when it is short or has no word times)."""
    words = seg.words
    if not words or seg.end - seg.start <= MAX_SECONDS and not _has_inner_sentence_end(words):
        yield seg
        return
    piece: list[dict] = []
    for i, word in enumerate(words):
        piece.append(word)
        nxt = words[i + 1] if i + 1 < len(words) else None
        length = word["end"] - piece[0]["start"]
        sentence_end = word["word"].endswith(_ENDS) and length >= MIN_SECONDS
        pause = nxt is not None and nxt["start"] - word["end"] >= PAUSE_SECONDS
        too_long = nxt is not None and nxt["end"] - piece[0]["start"] > MAX_SECONDS
        if nxt is None or sentence_end or pause or too_long:
            yield _make(seg, piece)
            piece = []


def join_words(words: Iterable[str]) -> str:
    """Whisper's words as a line: no space before an apostrophe, a hyphen or punctuation ("c'est", "donnez-les")."""
    return re.sub(r" (?=['\u2019,.!?;:]|-\w)", "", " ".join(words)).strip()


def _has_inner_sentence_end(words: list[dict]) -> bool:
    return any(w["word"].endswith(_ENDS) for w in words[:-1])


def _make(parent: SpeechSegment, words: list[dict]) -> SpeechSegment:
    return SpeechSegment(
        start=words[0]["start"],
        end=words[-1]["end"],
        text=join_words(w["word"] for w in words),
        words=list(words),
        avg_logprob=parent.avg_logprob,
        no_speech_prob=parent.no_speech_prob,
        language=parent.language,
    )
