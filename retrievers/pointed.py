"""Which videos a question points at by their kind: "in the screencast", "the commercial", "the sonnet".

A question that names the kind of recording it is about, after "the" (or "this", "that"...), asks
about the videos of that kind, whatever its words match elsewhere: "after the last change in the
screencast, what does the single box say?" is about the screencast, not about a talk show that
says "president". The kinds are the genres of :data:`vrag.indexers.profile.GENRES` (their
``named`` words); a video is of a kind when its profile scores that genre best, or within
:data:`vrag.retrievers.library.GENRE_MARGIN` of its best.

Auto search then looks in those videos only, as "what did Glenn say" looks in Glenn's speech
(:class:`vrag.retrievers.adaptive.AdaptiveRetriever`). Nothing is pointed at when the kind fits no
video, or every video of the collection (then the words say nothing about which one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from vrag.schema import Segment

from .library import GENRE_MARGIN  # a video is of a kind when it scores the genre within this of its best

__all__ = ["Pointed", "pointed_kinds", "pointed_videos"]

#: "the", then at most this many words, then the kind: "the Paul Allen song", "the flurries forecast".
_BETWEEN = 3


@dataclass(frozen=True)
class Pointed:
    """The videos a question points at (ids, collection order) and the kinds that named them."""

    video_ids: tuple[str, ...]
    kinds: tuple[str, ...]

    def reason(self) -> str:
        return f"names the {' / '.join(self.kinds)} -> {len(self.video_ids)} video(s)"


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    from vrag.indexers.profile import GENRES

    return tuple(
        (g.name, re.compile(r"\b(?:the|this|that|these|those)\s+(?:[\w'-]+\s+){0,%d}?(?:%s)\b" % (_BETWEEN, g.named), re.I))
        for g in GENRES if g.named)


#: A question about several recordings ("what do the Kennedy speech and the NIH talk each urge?")
#: may name only some of them by their kind.
_SEVERAL = re.compile(r"\b(?:each|both|compar\w*|versus|vs\.?|between)\b", re.I)


def pointed_kinds(question: str) -> list[str]:
    """The genres ``question`` names as the recording it is about ("the commercial": advertisement)."""
    text = " ".join(question.replace("\u2019", "'").split())
    if _SEVERAL.search(text):
        return []
    return [name for name, pattern in _patterns() if pattern.search(text)]


def _of_kind(profile: Segment, kind: str) -> bool:
    scores = {str(name): float(score) for name, score in profile.meta.get("genres") or []}
    return kind in scores and scores[kind] >= max(scores.values()) - GENRE_MARGIN


def pointed_videos(question: str, profiles: Iterable[Segment]) -> Pointed | None:
    """The videos (of the given profiles: the collection) whose kind ``question`` names, or None
    when it names none, or its kinds fit no video or all of them."""
    kinds = pointed_kinds(question)
    if not kinds:
        return None
    profiles = list(profiles)
    ids = tuple(dict.fromkeys(p.video_id for p in profiles if any(_of_kind(p, k) for k in kinds)))
    if not ids or len(ids) >= len({p.video_id for p in profiles}):
        return None
    return Pointed(ids, tuple(k for k in kinds if any(_of_kind(p, k) for p in profiles if p.video_id in ids)))
