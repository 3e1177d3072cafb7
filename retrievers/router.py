"""Offline query-intent router: which retrieval level a query needs, and whether it is global.

Levels follow AdaVideoRAG (arXiv 2506.13589):

* ``naive``  -- a single fact likely stated once ("what year was the registry started?");
* ``hybrid`` -- several modalities (speech, on-screen text, visuals), temporal context
  ("after the demo") or a view of one whole video;
* ``graph``  -- multi-hop or cross-video relations between entities ("how is Duke related
  to the twin study?", "which videos mention both X and Y?").

Separately, a query is *global* when it needs coverage across a video rather than top-k
("summarize the meeting", "list all topics").

A third, rule-based decision: a query is a *library* question when it asks about the collection
rather than inside one video ("which clips have music?", "how many videos are about hockey?",
"summarize the two talk-show clips"): see :data:`LIBRARY_RULES` and :func:`library_reason`.

Both decisions are logistic regressions over the query's MiniLM embedding plus a few lexical
cue counts, trained by :mod:`vrag.retrievers.router_train` on ``route_queries.jsonl`` and
shipped as plain JSON (``router_weights.json``); inference is numpy only. One obvious rule
sits on top: an explicit request to summarize is global, and a global query is never naive.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from vrag.backends import Lazy
from vrag.errors import ConfigError
from vrag.registry import register

__all__ = ["Route", "Router", "LEVELS", "LIBRARY_RULES", "library_reason", "LEXICAL_CUES", "LEXICAL_FEATURES", "DEFAULT_MODEL_ID", "WEIGHTS_FILE", "featurize"]

LEVELS = ("naive", "hybrid", "graph")

#: The embedding model the shipped weights were trained with (the packaged MiniLM).
DEFAULT_MODEL_ID = "sentence-transformers:all-MiniLM-L6-v2"

WEIGHTS_FILE = "router_weights.json"

_DOC = r"(?:videos?|clips?|episodes?|lectures?|meetings?|talks?|recordings?|series)"

#: Lexical cue families counted in the lowercased query (feature value: log1p(count)).
LEXICAL_CUES: dict[str, str] = {
    "relation_words": (
        r"\b(?:relat\w*|between|connect\w*|link\w*|both|across|compar\w*|together|whom|same|"
        r"each other|tied|ties|team up|alongside|influence\w*|other " + _DOC + r")\b"
    ),
    "temporal_words": (
        r"\b(?:before|after|when|first|then|during|while|start|beginning|end|moment|until|later|opening)\b"
    ),
    "visual_words": (
        r"\b(?:slides?|screens?|shown|shows?|look\w*|colou?rs?|wearing|scene|shot|footage|replay|"
        r"graphic|chart|diagram|board|animation|close up|map|appear\w*)\b"
    ),
    "global_words": (
        r"\b(?:summar\w*|overview|main points|about(?=\W*$)|recap|key (?:points|moments)|highlights|takeaways|"
        r"topics|gist|tl;?dr|outline|overall|whole|synopsis|chapters|sum up|big picture)\b"
    ),
}
_CUE_RES = {name: re.compile(pattern) for name, pattern in LEXICAL_CUES.items()}

#: Lexical feature names, in the order :func:`featurize` appends them after the embedding.
LEXICAL_FEATURES = ("capitalised_names",) + tuple(LEXICAL_CUES)

#: An explicit request for a summary of a whole video: global whatever the model says.
_GLOBAL_RULE = re.compile(
    r"^\s*(?:please\s+)?(?:summari[sz]e|sum up|recap|overview|tl;?dr|give (?:me )?(?:an? )?(?:summary|overview|recap))\b"
    r"|\bwhat(?:'s| is) (?:this|the) (?:\w+ )?(?:video|clip|talk|lecture|episode|meeting|ad|commercial|"
    r"documentary|tutorial|interview|podcast|webinar|stream) about\b"
)

#: Plural words for the things a collection holds (the target of a library question).
_ITEMS = (r"(?:videos|clips|recordings|files|songs|ones|movies|films|episodes|tracks|media|lectures|interviews|ads|"
          r"adverts|advertisements|commercials|forecasts|screencasts|tutorials|documentaries|podcasts|broadcasts|trailers)")
_ITEM = (r"(?:videos?|clips?|recordings?|files?|songs?|movies?|films?|episodes?|tracks?|lectures?|interviews?|ads?|"
         r"adverts?|advertisements?|commercials?|forecasts?|screencasts?|tutorials?|documentar(?:y|ies)|podcasts?|"
         r"broadcasts?|trailers?)")
#: Up to two describing words before the plural noun ("weather clips", "talk-show clips"), never a
#: verb or preposition (so "which player in the clips" and "what happens in the videos" stay local).
_DESCRIBED = (r"(?:(?!(?:in|on|at|of|from|to|did|does|do|is|was|are|were|has|have|had|happens?|said|says)\b)"
              r"[\w'-]+\s+){0,2}")
#: The library rules, each a reason name and a pattern over the lowercased question. A question is
#: a library question when one matches: plural video nouns as the question's target (which/what/how
#: many/list/any + clips..., where the question opens), the collection itself, every video, or a
#: summary over several videos.
_OPENING = r"^(?:(?:please|so|and|now|ok(?:ay)?|tell me|can you(?: tell me)?|could you(?: tell me)?|do you know)[,\s]+)*"
LIBRARY_RULES: dict[str, str] = {
    "which items": _OPENING + r"(?:which|what)\s+(?:of\s+(?:the|my|these|those|our|your|all(?:\s+the)?)\s+)?" + _DESCRIBED + _ITEMS + r"\b",
    "what are the items": _OPENING + r"what\s+(?:are|were)\s+(?:the|these|those|my|all(?:\s+the)?)\s+" + _DESCRIBED + _ITEMS + r"\b",
    # "which video has no audio track?", "which clip mentions Toronto?": one video, chosen from the collection
    "which item": (_OPENING + r"(?:which|what)\s+(?:one\s+)?(?:video|clip|recording|file)\s+(?:is|was|has|had|contains?|shows?|"
                   r"features?|mentions?|talks?|covers?|discuss(?:es)?|includes?|comes?|lacks?)\b"),
    "how many": _OPENING + r"how\s+many\s+" + _DESCRIBED + _ITEMS + r"\b",
    "list": (_OPENING + r"(?:list|name|enumerate|count|show\s+me|find|give\s+me)\s+(?:all\s+)?(?:of\s+)?(?:the\s+|my\s+)?"
             + _DESCRIBED + _ITEMS + r"\b"),
    "any items": (r"\b(?:are|were)\s+there\s+(?:any|some)\s+" + _DESCRIBED + _ITEMS + r"\b|\b(?:is|was)\s+there\s+"
                  r"(?:a|an|any)\s+" + _DESCRIBED + _ITEM + r"\b|\b(?:do|does|did|have|has)\s+(?:i|we|you|any)\s+(?:have\s+)?"
                  r"(?:any|some)\s+" + _DESCRIBED + _ITEMS + r"\b"),
    "any of the items": (r"\b(?:do|does|did|are|were|is|was|have|has)\s+(?:any|all|none|each|both)\s+of\s+"
                         r"(?:the|my|these|those)\s+" + _DESCRIBED + _ITEMS + r"\b"),
    "collection": (r"\b(?:the|my|our|this|your)\s+(?:library|collection|archive)\b|\bindexed\s+" + _ITEMS
                   + r"\b|\b(?:each|every)\s+(?:video|clip|recording|file)\b|\ball\s+(?:of\s+)?(?:the\s+|my\s+|these\s+)?"
                   + _DESCRIBED + _ITEMS + r"\b"),
    "several items": (r"^\s*(?:please\s+)?(?:summari[sz]e|sum\s+up|recap|compare|contrast|give\s+(?:me\s+)?(?:an?\s+)?"
                      r"(?:summary|overview|recap)\s+of)\s+(?:the|my|these|those|both|all)\s+(?:(?:two|three|four|five|"
                      r"six|both|\d+)\s+)?" + _DESCRIBED + _ITEMS + r"\b"),
}
_LIBRARY_RES = {name: re.compile(pattern) for name, pattern in LIBRARY_RULES.items()}
#: Relations between entities or videos ("which lectures mention both X and Y", "which clips show the
#: same car", "which other talks cite it") are graph questions, even when they ask "which videos".
_RELATIONAL = re.compile(r"\b(?:same|other|both|together|each other|linked|links?|related|relationship|relat(?:e|es|ing)|"
                         r"connect\w*|build(?:s)? on|referenc\w*|cit(?:e|es|ing)|influenc\w*|reuse\w*)\b")


#: "What did Glenn say about the Leafs?", "what does Dr. Lee think of ...", "did Maria mention ...": a question
#: about one person's words (speaker-filtered retrieval when that person is a known speaker).
_SAID_BY = re.compile(r"(?i:\b(?:what|how|when|why|where|did|does|do|has|have)\s+(?:did|does|do|has|have|was|is)?)\s*"
                      r"(?P<who>[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2})\s+"
                      r"(?i:say|said|tell|told|think|thought|mention|mentioned|talk|talked|explain|explained|claim|"
                      r"claimed|ask|asked|answer|answered|announce|announced|introduce|introduced)\b")


def said_by(query: str) -> str:
    """The person whose words a question asks about ("What did Glenn say about ..." -> "Glenn"), else ""."""
    m = _SAID_BY.search(query)
    return m.group("who") if m else ""


def library_reason(query: str) -> str:
    """The name of the first :data:`LIBRARY_RULES` rule ``query`` matches ("" when none does, or
    when it asks for relations: those go to graph retrieval)."""
    text = " ".join(query.lower().replace("\u2019", "'").split())
    if _RELATIONAL.search(text):
        return ""
    return next((name for name, rule in _LIBRARY_RES.items() if rule.search(text)), "")


@dataclass
class Route:
    """The router's decision for one query.

    ``scores`` are the level model's probabilities (they sum to 1); ``confidence`` is the
    probability of the returned ``level``. ``global_`` is serialised as ``"global"``.
    """

    level: str
    global_: bool
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    #: a question about the collection (answered by :mod:`vrag.retrievers.library`), not inside one video
    library: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``global_`` under its public name ``"global"``."""
        return {
            "level": self.level,
            "global": self.global_,
            "confidence": self.confidence,
            "scores": dict(self.scores),
            "reason": self.reason,
            "library": self.library,
        }


def lexical_features(query: str) -> list[float]:
    """Cue counts for ``query`` (log1p-scaled), in :data:`LEXICAL_FEATURES` order."""
    words = query.split()
    names = sum(1 for w in words[1:] if w[:1].isupper() and w != "I")
    text = query.lower()
    counts = [names] + [len(cue.findall(text)) for cue in _CUE_RES.values()]
    return [float(np.log1p(c)) for c in counts]


def featurize(vectors: Any, queries: Sequence[str]) -> Any:
    """The model input: each query's embedding followed by its lexical features."""
    lexical = np.array([lexical_features(q) for q in queries], dtype=np.float32).reshape(len(queries), -1)
    return np.hstack([np.asarray(vectors, dtype=np.float32), lexical])


def _softmax(z: Any) -> Any:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@register("router", "learned")
class Router:
    """Classify queries into a retrieval level plus a global/localized tag.

    ``embed`` maps a list of texts to L2-normalised (n, 384) vectors from the text embedder
    whose id is ``model_id``; the shipped weights only fit that embedder's vector space.
    ``weights`` overrides the packaged ``router_weights.json``. The weights load on first use.
    """

    def __init__(
        self,
        embed: Callable[[list[str]], Any],
        model_id: str = DEFAULT_MODEL_ID,
        weights: str | Path | None = None,
    ):
        self.embed = embed
        self.model_id = model_id
        self.weights_path = weights
        self._weights = Lazy(self._load)

    @classmethod
    def from_config(cls, cfg: Any, learned: "Router") -> "Router":
        """How search makes a registered router, given the shipped one (``learned``): it is that one."""
        return learned

    def _load(self) -> dict[str, Any]:
        """Read and check the weights; arrays become numpy."""
        source = Path(self.weights_path) if self.weights_path else resources.files("vrag.retrievers") / WEIGHTS_FILE
        retrain = "train them with: python -m vrag.retrievers.router_train"
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"query router weights not found at {source}; {retrain}") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"query router weights at {source} are unreadable ({exc}); {retrain}") from exc
        if data.get("model_id") != self.model_id:
            raise ConfigError(
                f"query router weights were trained with text embedder {data.get('model_id')!r}, "
                f"but the knowledge base uses {self.model_id!r}; {retrain} (with that text_embedder)"
            )
        if tuple(data.get("lexical_features", ())) != LEXICAL_FEATURES:
            raise ConfigError(f"query router weights at {source} are for another feature set; {retrain}")
        try:
            for name in ("level", "global"):
                model = data[name]
                model["coef"] = np.asarray(model["coef"], dtype=np.float32)
                model["intercept"] = np.asarray(model["intercept"], dtype=np.float32)
            valid = set(data["level"]["classes"]) == set(LEVELS) and True in data["global"]["classes"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"query router weights at {source} are malformed ({exc!r}); {retrain}") from exc
        if not valid:
            raise ConfigError(f"query router weights at {source} have unexpected classes; {retrain}")
        return data

    def classify(self, query: str) -> Route:
        """The route for one query."""
        return self.classify_many([query])[0]

    def classify_many(self, queries: Sequence[str]) -> list[Route]:
        """Routes for several queries, embedded in one batch."""
        weights = self._weights.get()
        if not queries:
            return []
        x = featurize(self.embed(list(queries)), queries)
        if x.shape[1] != weights["level"]["coef"].shape[1]:
            raise ConfigError(
                f"query router expects {weights['embedding_dim']}-d embeddings, "
                f"got {x.shape[1] - len(LEXICAL_FEATURES)}-d from {self.model_id!r}"
            )
        level_p = _softmax(x @ weights["level"]["coef"].T + weights["level"]["intercept"])
        global_p = _softmax(x @ weights["global"]["coef"].T + weights["global"]["intercept"])
        is_global_col = weights["global"]["classes"].index(True)
        return [
            self._route(q, lp, float(gp[is_global_col]), weights["level"]["classes"])
            for q, lp, gp in zip(queries, level_p, global_p)
        ]

    @staticmethod
    def _route(query: str, level_p: Any, global_p: float, classes: list[str]) -> Route:
        """Combine the two models' probabilities and the rule layer into a :class:`Route`."""
        scores = {level: float(level_p[classes.index(level)]) for level in LEVELS}
        level = max(scores, key=scores.__getitem__)
        reason = f"learned: {level} p={scores[level]:.2f}, global p={global_p:.2f}"
        is_global = global_p >= 0.5
        if is_global and not _CUE_RES["global_words"].search(query.lower()) and not _GLOBAL_RULE.search(query.lower()):
            is_global = False  # "what are the key ingredients?": a specific question is never a summary
            reason += "; rule: no word asks for the whole video -> not global"
        if not is_global and _GLOBAL_RULE.search(query.lower()):
            is_global = True
            reason += "; rule: explicit summary request -> global"
        if is_global and level == "naive":
            level = "hybrid"
            reason += "; rule: a global query needs more than naive top-k -> hybrid"
        library = library_reason(query)
        if library:
            reason += f"; rule: about the collection ({library}) -> library"
        return Route(level, is_global, scores[level], scores, reason, bool(library))
