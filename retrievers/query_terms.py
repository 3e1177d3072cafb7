"""The content words of a query and which of them a text contains (for "why" and answer scoring)."""

from __future__ import annotations

import re

__all__ = ["terms", "matched", "excluded", "without_aside", "STOP_WORDS"]

#: Question and function words: they say nothing about where the answer is.
STOP_WORDS = frozenset("""
a about above after again all also am an and any are as at be been before being below between both but by can
could did do does doing done down during each either else ever every few for from further get gets got had has
have having he her here hers him his how i if in into is it its itself just least less let like made make many
me might more most much must my no nor not now of off on once one only or other our ours out over own part per
please put rather really said same say says see seem she should show shown shows so some such tell than that the
their theirs them then there these they thing things this those though through thus to too under until up upon us
very was way we well were what whatever when where whether which while who whom whose why will with within without
would yes yet you your yours video videos clip clips talk speaker mention mentioned mentions find where's what's
who's how's explain explains explained discuss discussed discusses happen happens happened
""".split())
_WORD = re.compile(r"[^\W_][\w'-]*")


def terms(query: str) -> list[str]:
    """Lowercased content words of ``query`` in order, without duplicates."""
    out: list[str] = []
    for word in _WORD.findall(query.lower()):
        word = word.strip("'-")
        if word.endswith("'s"):
            word = word[:-2]
        if len(word) > 1 and word not in STOP_WORDS and word not in out:
            out.append(word)
    return out


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def matched(query_terms: list[str], text: str) -> list[str]:
    """The query terms ``text`` contains (as words, plural/-ing/-ed variants included; the parts of a
    hyphenated word count too: "self-substantial" holds "self")."""
    words = {_stem(part) for w in _WORD.findall(text.lower()) for part in {w.strip("'-"), *w.split("-")} if part}
    return [t for t in query_terms if _stem(t) in words]


_BESIDES = re.compile(r"\b(?:besides|apart from|aside from|other than|except(?: for)?|not counting)\s+((?:[\w'-]+\s+){0,3}?[\w'-]+)"
                      r"(?=\s*[,?.;]|\s+(?:what|which|who|how|where|when|is|was|are|were|did|does|do)\b)", re.I)


def excluded(query: str) -> list[str]:
    """The content words the query sets aside as not the answer: "Besides the head, what kind of
    contact was there?" gives ["head"]."""
    return [w for m in _BESIDES.finditer(query) for w in terms(m.group(1))]


def without_aside(query: str) -> str:
    """The query without what it sets aside: "Besides the head, what kind of contact was there?"
    asks "what kind of contact was there?"."""
    return " ".join(_BESIDES.sub(" ", query).split()).lstrip(",; ")
