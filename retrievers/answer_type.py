"""What kind of answer a question asks for, where evidence holds one, and the short answer itself.

"Who is Bell Media's president?" asks for a PERSON; "by how much did TBI raise the risk?" for a
NUMBER; "when", "which company", "where" for a DATE, an ORG or a PLACE. The type comes from the
question's wh-word and the noun it asks about (spaCy's packaged English model gives lemmas, so
"which places" is "place"); the evidence is read with the same model's named entities, plus
figures written as digits (an OCR'd "SPF 30" is a number whatever the tagger says).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["AnswerType", "asked_type", "asked_modality", "asks_clock", "shows_time", "find_typed", "LABELS",
           "ASKED_NOUNS"]

#: spaCy entity labels that answer each type.
LABELS: dict[str, frozenset[str]] = {
    "PERSON": frozenset({"PERSON"}),
    "NUMBER": frozenset({"CARDINAL", "PERCENT", "MONEY", "QUANTITY"}),
    "DATE": frozenset({"DATE", "TIME"}),
    "ORG": frozenset({"ORG"}),
    "PLACE": frozenset({"GPE", "LOC", "FAC"}),
    #: "how far": a distance or a place it reaches; "how long": a length of time or of something
    "EXTENT": frozenset({"QUANTITY", "CARDINAL", "GPE", "LOC", "FAC"}),
    "DURATION": frozenset({"DATE", "TIME", "QUANTITY", "CARDINAL"}),
    #: "which direction is the wind coming from?": a compass point ("SSW", "north-east"), no entity label
    "DIRECTION": frozenset(),
}
#: Nouns a question asks about ("which company", "what temperature"), by lemma.
_NOUNS: dict[str, str] = {
    **dict.fromkeys("person people man woman guy player host anchor forecaster meteorologist president ceo "
                    "singer artist author actor actress coach reporter presenter guest colleague scientist "
                    "researcher doctor founder leader politician musician composer analyst".split(), "PERSON"),
    **dict.fromkeys("company organisation organization channel network team brand university broadcaster station "
                    "institute institution agency club league firm manufacturer maker publisher college school "
                    "government party newspaper".split(), "ORG"),
    **dict.fromkeys("city country place province town state region location area neighbourhood neighborhood "
                    "street continent island venue airport stadium arena".split(), "PLACE"),
    **dict.fromkeys("year date day month time season decade century hour weekday".split(), "DATE"),
    **dict.fromkeys("percentage percent number amount temperature score price cost speed ratio rate age distance "
                    "size count total height weight length duration figure dose degrees".split(), "NUMBER"),
}
#: The nouns that name an answer type ("city", "team", "temperature"): the evidence gives the answer, not the noun.
ASKED_NOUNS = frozenset(_NOUNS)
#: Nouns that only name what is asked: "what network name" asks for a network, "which kind of company" for one.
_NAMING = frozenset({"name", "kind", "type", "sort"})
_HOW = re.compile(r"\bhow (?:much|many|long|old|far|big|fast|high|hot|cold|warm|tall|often|large|low|strong)\b"
                  r"|\bwhat percent", re.I)
_WHEN = re.compile(r"\bwhen\b|\b(?:what|which) (?:year|date|day|month|time)\b", re.I)
_WHERE = re.compile(r"\bwhere\b", re.I)
_DIRECTION_Q = re.compile(r"\b(?:what|which) (?:compass )?direction\b", re.I)
#: Compass points: words, or codes of two or three letters (a weather graphic's "Wind:SSW27-37km/h").
_COMPASS = re.compile(r"(?i:\b(?:north|south)(?:[- ]?(?:east|west))?\b|\b(?:east|west)(?:ward)?\b)"
                      r"|(?<![A-Za-z])(?:[NS]?[NS][EW]|(?i:[ns][ns][ew]|[ew][ns][ew]))(?![A-Za-z])")
_WHO = re.compile(r"\b(?:who|whom|whose)\b", re.I)
_WH = {"what", "which", "whose"}
#: Written figures: "60%", "1.56", "9°", "27-37", "B5" does not count (a letter glued to it).
_FIGURE = re.compile(r"(?<![\w.])(?:about |around |roughly |nearly |almost |over |under |up to )?"
                     r"[$€£]?\d+(?:[.,]\d+)*(?:\s?(?:%|°\w?|percent|per cent|km/h|mph|km|cm|mm|kg|lbs?|degrees))?"
                     r"(?:\s?[-–]\s?\d+(?:[.,]\d+)?(?:\s?(?:%|°|km/h))?)?(?![\w])", re.I)
#: Amounts said without a figure: "a couple more degrees", "a few hours", "half a dozen".
_VAGUE = re.compile(r"\b(?:a couple|a few|several|a dozen|half a dozen|dozens|hundreds|thousands)"
                    r"(?: of)?(?: more| extra)? [a-z]+", re.I)
_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?:\s?[ap]\.?m\.?)?(?!\d)", re.I)
_APPROX = re.compile(r"\b(about|around|roughly|nearly|almost|approximately|over|more than|less than|up to|"
                     r"at least|some)\s+(?:an?\s+)?$", re.I)


#: A question about what is written on screen: "on the slide", "the benefits card", "the map's title".
_ON_SCREEN = re.compile(
    r"\b(?:on[- ]screen|slides?|graphics?|cards?|banners?|labell?ed|labels?|written|printed|displayed|"
    r"buttons?|pop-?ups?|menus?|tickers?|chyrons?|lower[- ]thirds?|signs?|boards?|posters?|headlines?|maps?|"
    r"charts?|tables?|captions?|subtitles?|credits?|settings? (?:page|panel|window)|dialog|checkbox|screen)\b", re.I)
#: A question about what is said or sung: "what did the analyst say", "according to the forecaster".
_SAID = re.compile(
    r"\b(?:say|says|said|saying|tells?|told|mention(?:s|ed)?|talks? about|talked about|explain(?:s|ed)?|"
    r"descri(?:be|bes|bed)|announce[sd]?|sings?|sang|sung|lyrics?|chorus|verse|voice-?over|narrat(?:or|es|ed)|"
    r"according to (?:the |his |her )?(?:analyst|speaker|forecaster|host|anchor|narrator|singer|reporter|"
    r"presenter|guest|panel|poem|song|voice)|wonder(?:s|ed)? about|ask(?:s|ed)?|call(?:s|ed)?|urges?)\b", re.I)


#: What a thing on screen "says" or "asks" is written there: "what does the single box in the arrangement
#: area say?", "what does the pop-up ask the user?"
_THING_SAYS = re.compile(
    r"\b(?:box|sign|card|slide|banner|label|button|pop-?up|graphic|message|dialog|title|notice|window|headline|"
    r"ticker|chyron|screen|caption|board|poster|map|chart|text)(?:e?s)?\b(?:\s+[\w'-]+){0,6}?\s+(?:say|says|said|read|reads|ask|asks|asked)\b",
    re.I)


def asked_modality(question: str) -> str | None:
    """Where the answer should come from when the question says so: "ocr" for what is written on
    screen ("the benefits card", "the map's title", what a box "says"), "asr" for what is said or
    sung ("what did the analyst say"); None when it says neither or both (a cross-modal question)."""
    question = _THING_SAYS.sub(" on screen ", question)
    screen, said = bool(_ON_SCREEN.search(question)), bool(_SAID.search(question))
    if screen == said:
        return None
    return "ocr" if screen else "asr"


_CLOCK_Q = re.compile(r"\bclocks?\b", re.I)


def asks_clock(question: str) -> bool:
    """The question asks what a clock shows ("what time does the clock in the top bar show?")."""
    return bool(_CLOCK_Q.search(question)) and bool(_WHEN.search(question))


def shows_time(text: str) -> bool:
    """``text`` holds a clock time ("Wed 18:38", "LIVE 12:17")."""
    return bool(_CLOCK.search(text))


@dataclass(frozen=True)
class AnswerType:
    """The asked-for type (a key of :data:`LABELS`) and why: the cue that gave it."""

    type: str
    cue: str
    #: the question asks for several ("which towns", "which two politicians"): the short answer lists them
    plural: bool = False


def asked_type(question: str, nlp: Any = None) -> AnswerType | None:
    """The kind of answer ``question`` wants, or None when any text may answer it ("why", "what
    does ... say"). ``nlp`` (spaCy) reads the noun a wh-word asks about; without it only the
    wh-words count."""
    if _DIRECTION_Q.search(question):
        return AnswerType("DIRECTION", "what direction")
    asked = _asked_noun(question, nlp) if nlp is not None else None
    if asked:
        noun, plural = asked
        return AnswerType(_NOUNS[noun], f"asks for a {noun}", plural)
    how = _HOW.search(question)
    if how:
        cue = how.group(0).lower()
        return AnswerType({"how far": "EXTENT", "how long": "DURATION"}.get(cue, "NUMBER"), cue)
    if _WHEN.search(question):
        return AnswerType("DATE", "when")
    if _WHERE.search(question):
        return AnswerType("PLACE", "where")
    if _WHO.search(question):
        return AnswerType("PERSON", "who")
    return None


def _asked_noun(question: str, nlp: Any) -> tuple[str, bool] | None:
    """The first known noun the question's wh-word asks about ("which company makes...", "what is
    the temperature", "who is the host": "host", "what is the name of the forecaster"), and whether
    it asks for several ("which towns")."""
    doc = nlp(question)
    wh = next((t for t in doc if t.lower_ in _WH | {"who", "how", "where", "when"}), None)
    if wh is None or wh.lower_ in {"how", "where", "when"}:
        return None
    if wh.dep_ == "det" and wh.head.pos_ in {"NOUN", "PROPN"}:  # "which airport ...": that noun, known or not
        lemma = wh.head.lemma_.lower()
        if lemma in _NOUNS:
            return lemma, wh.head.tag_ in {"NNS", "NNPS"}
        if lemma in _NAMING:  # "what network name", "which kind of company": the noun it names
            named = [c for c in wh.head.children if c.dep_ == "compound"] + [
                c for p in wh.head.children if p.dep_ == "prep" and p.lower_ == "of" for c in p.children]
            return next(((c.lemma_.lower(), wh.head.tag_ in {"NNS", "NNPS"}) for c in named
                         if c.lemma_.lower() in _NOUNS), None)
        return None
    for tok in doc[wh.i + 1: wh.i + 8]:
        lemma = tok.lemma_.lower()
        if tok.dep_ in {"nsubj", "nsubjpass"} and tok.head.pos_ == "VERB" and tok.head.lemma_.lower() not in {
                "be", "have", "do"}:
            continue  # "what does the singer hope to buy", "who is the analyst answering": who acts, not what is asked
        if tok.pos_ in {"NOUN", "PROPN"} and lemma in _NOUNS:
            return lemma, tok.tag_ in {"NNS", "NNPS"}
        if tok.pos_ == "VERB" and tok.lemma_.lower() not in {"be", "have", "do"}:
            break  # "what did Glenn say about the team": the noun is not what is asked
    return None


def find_typed(doc: Any, text: str, want: str, question: str = "") -> list[str]:
    """The pieces of ``text`` (parsed as ``doc``) that are answers of type ``want``, best first;
    names or figures the question itself holds are not answers to it."""
    q = question.lower()
    found: list[str] = []
    for ent in doc.ents:
        if want == "PERSON" and len(ent) == 1 and ent[0].tag_ in {"NNS", "NNPS"}:
            continue  # "Discordant Twins" on a slide: a plural is nobody's name
        if ent.label_ in LABELS[want]:
            figure = ent.label_ in LABELS["NUMBER"]
            found.append(_with_qualifier(text, ent.start_char, ent.end_char) if figure else ent.text)
    if want in ("NUMBER", "EXTENT", "DURATION"):
        found += [m.group(0) for m in _FIGURE.finditer(text)]
        found += [m.group(0) for m in _VAGUE.finditer(text)]
    if want == "DIRECTION":
        found += [m.group(0) for m in _COMPASS.finditer(text)]
    if want in ("DATE", "DURATION"):  # a clock on screen: "LIVE12:17", "SUN 6:15PM"
        found += [m.group(0) for m in _CLOCK.finditer(text)]
    out: list[str] = []
    for f in found:
        f = f.strip(" .,;:")
        if want in ("PERSON", "ORG", "PLACE") and not _names_something(f):
            continue
        if f and f.lower() not in q and not any(f.lower() in o.lower() for o in out):
            out = [o for o in out if o.lower() not in f.lower()] + [f]
    return out


def _names_something(text: str) -> bool:
    """A name has words of letters and no figures: "km/h" or "SSW27-37" tagged ORG is not one, nor a
    compass point ("SSW" once screen text sets it apart from its figures)."""
    return (not any(c.isdigit() for c in text) and bool(re.search(r"[^\W\d_]{2,}", text)) and "/" not in text
            and not _COMPASS.fullmatch(text))


def _with_qualifier(text: str, start: int, end: int) -> str:
    """A figure with the word that qualifies it: "about a 60%" reads "about 60%"."""
    before = _APPROX.search(text[:start])
    span = text[start:end]
    span = re.sub(r"^(?:an?|the)\s+", "", span, flags=re.I)
    if before and before.group(1).lower() not in span.lower():
        return f"{before.group(1)} {span}"
    return span
