"""Names for speakers from the video itself: self-introductions, being addressed, name captions.

Conservative by design: a name is given only on clear evidence, checked by the packaged spaCy model
(a PERSON entity), and never on conflicting evidence. Kinds of evidence, strongest first:

* ``self``: "I'm Glenn Healy", "my name is ...", "this is ..." in the speaker's own turn;
* ``screen``: a caption line that is just a person's name (a lower third: the stage passes only lines in the
  lower part of a picture with few lines, see ``indexers.speakers.lower_third``) on screen while that
  voice has most of the speech, and not said aloud then (a name said aloud under a photo is the
  person talked about, not the one talking);
* ``addressed``: a vocative ("Yeah, Glenn. ...", "... too, Ken, but ...") names the other speaker
  when the video has two; with more, a turn that opens with it names the speaker of the turn before.

A name claimed for two speakers, or two names of one kind for one speaker, names nobody.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Sequence

__all__ = ["Turn", "name_speakers", "spacy_persons", "KINDS"]

#: Evidence kinds, strongest first (``meta["speaker_source"]``).
KINDS = ("self", "screen", "addressed")
_SELF = re.compile(r"\b(?:I'm|I am|my name is|My name is|this is|This is)\s+([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,2})")
#: A capitalised word between punctuation (or opening the turn) and a comma/stop: a vocative.
_VOCATIVE = re.compile(r"(?:^|[,.!?]\s*|^(?:\w+\s*,\s*))([A-Z][a-z'-]+)(?=\s*[,.!?])")
#: A turn that opens with a vocative: "Glenn, ...", "Yeah, Glenn.", "Thanks, Glenn,".
_OPENING = re.compile(r"^(?:(?:yeah|yes|well|thanks|thank you|ok|okay|oh|no|right|sure|sorry|and|so)\s*,?\s+)?"
                      r"([A-Z][a-z'-]+)\s*[,.!?]", re.IGNORECASE)
#: Screen lines longer than this many words are not name captions.
_CAPTION_WORDS = 4
#: Share of the speech under a caption that its voice must have.
_SCREEN_SHARE = 0.7
#: With three or more speakers, an opening vocative answers a turn that ended at most this long ago.
_ANSWER_GAP = 3.0


@dataclass
class Turn:
    """Consecutive speech of one speaker (index into the video's speakers)."""

    speaker: int
    text: str
    start: float
    end: float


def name_speakers(turns: Sequence[Turn], n_speakers: int, screen: Sequence[tuple[float, float, str]],
                  persons: Callable[[str], list[str]]) -> dict[int, tuple[str, str]]:
    """``{speaker: (name, kind)}`` for the speakers the evidence names; ``persons(text)`` lists the
    PERSON entities in a text (the spaCy model)."""
    votes: dict[str, dict[int, set[str]]] = {kind: defaultdict(set) for kind in KINDS}
    for i, turn in enumerate(turns):
        found = persons(turn.text) if turn.text else []
        if not found:
            continue
        for m in _SELF.finditer(turn.text):
            name = _person_at(m.group(1), found)
            if name:
                votes["self"][turn.speaker].add(name)
        target = _addressee(turns, i, n_speakers)
        if target is not None:
            for name in _vocatives(turn.text, i == 0 or turns[i - 1].speaker != turn.speaker, found):
                votes["addressed"][target].add(name)
    for start, end, text in screen:
        _screen_votes(votes["screen"], turns, start, end, text, persons)
    return _decide(votes)


def _person_at(candidate: str, persons: Sequence[str]) -> str:
    """The PERSON entity that ``candidate`` (words after "I'm") starts with, else ""."""
    for name in sorted(persons, key=len, reverse=True):
        if candidate == name or candidate.startswith(name + " ") or name.startswith(candidate + " "):
            return name if candidate.startswith(name) else candidate
    return ""


def _vocatives(text: str, opens_turn: bool, persons: Sequence[str]) -> list[str]:
    singles = {p for p in persons if " " not in p}
    out = [m.group(1) for m in _VOCATIVE.finditer(text) if m.group(1) in singles]
    if opens_turn:
        m = _OPENING.match(text)
        if m and m.group(1) in singles:
            out.append(m.group(1))
    return sorted(set(out))


def _addressee(turns: Sequence[Turn], i: int, n_speakers: int) -> int | None:
    """Whom turn ``i`` talks to: the other speaker of two; with more, the speaker of the turn just before."""
    me = turns[i].speaker
    if n_speakers == 2:
        return 1 - me if me in (0, 1) else None
    if n_speakers > 2 and i > 0 and turns[i - 1].speaker != me and turns[i].start - turns[i - 1].end <= _ANSWER_GAP:
        return turns[i - 1].speaker
    return None


def _screen_votes(votes: dict[int, set[str]], turns: Sequence[Turn], start: float, end: float, text: str,
                  persons: Callable[[str], list[str]]) -> None:
    for line in (ln.strip() for ln in text.splitlines()):
        words = line.split()
        if not 2 <= len(words) <= _CAPTION_WORDS:
            continue
        names = [p for p in persons(line) if " " in p and len(p) >= 0.8 * len(line)]
        if len(names) != 1:
            continue
        name = names[0]
        talk: dict[int, float] = defaultdict(float)
        said = False
        for t in turns:
            overlap = min(end, t.end) - max(start, t.start)
            if overlap > 0:
                talk[t.speaker] += overlap
                said = said or name.lower() in t.text.lower() or name.split()[-1].lower() in t.text.lower()
        total = sum(talk.values())
        if said or total < 1.0:
            continue
        who, most = max(talk.items(), key=lambda kv: kv[1])
        if most >= _SCREEN_SHARE * total:
            votes[who].add(name)


def _decide(votes: dict[str, dict[int, set[str]]]) -> dict[int, tuple[str, str]]:
    """One name per speaker from the strongest kind with exactly one name; no name for two speakers."""
    chosen: dict[int, tuple[str, str]] = {}
    for kind in KINDS:
        for speaker, names in votes[kind].items():
            if speaker in chosen or len(names) != 1:
                continue
            chosen[speaker] = (next(iter(names)), kind)
    by_name: dict[str, list[int]] = defaultdict(list)
    for speaker, (name, _) in chosen.items():
        by_name[name.lower()].append(speaker)
    return {s: v for s, v in chosen.items() if len(by_name[v[0].lower()]) == 1}


def spacy_persons() -> Callable[[str], list[str]]:
    """``persons(text)`` with the packaged spaCy model (loaded once per process)."""
    from vrag.indexers.graph_extract import load_nlp

    nlp = load_nlp()

    def persons(text: str) -> list[str]:
        return [e.text for e in nlp(text).ents if e.label_ == "PERSON"]

    return persons

