"""Adaptive retrieval after AdaVideoRAG: route each query to naive, hybrid or graph retrieval,
and escalate to the next level when the evidence comes back weak.

``auto`` asks the router (:mod:`vrag.retrievers.router`); a forced mode runs that level only.
Questions about the collection ("which clips have music?") go to library-level retrieval
(:mod:`vrag.retrievers.library`): every matching video with its evidence; ``library`` forces it.
Global questions ("summarize...") get coverage across the video instead of top-k. When graph
retrieval links no entity or finds nothing, the hybrid hits are returned and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vrag.backends import Lazy, get_backend
from vrag.config import Config
from vrag.errors import ConfigError, MissingDependencyError
from vrag.registry import resolve
from vrag.schema import Hit
from vrag.store import Store

from .router import LEVELS, Route, library_reason, said_by

__all__ = ["AdaptiveRetriever", "Retrieval", "MODES", "weak_evidence", "top_up"]

MODES = ("auto",) + LEVELS + ("library",)
#: Below this best cosine similarity (MiniLM question vs. record), text evidence counts as weak ...
MIN_SIMILARITY = 0.35
#: ... unless at least this fraction of the query's content words appear in a hit.
MIN_WORDS = 0.5


@dataclass
class Retrieval:
    """What a search found and how: the level used, the router's decision, each level tried."""

    hits: list[Hit]
    route: str
    confidence: float
    escalated: bool
    global_: bool
    routing: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)
    weak: bool = False
    #: for route "library": the :class:`vrag.retrievers.library.Selection` (videos matched and why)
    library: Any = None


def weak_evidence(level: str, hits: list[Hit], global_: bool = False) -> str:
    """Why ``hits`` are too weak to answer from ("" when they are fine)."""
    if not hits:
        return "nothing found"
    if global_ and level == "hybrid":
        return ""  # coverage of a video is its content, whatever the words of "summarize it"
    if level == "graph" and max(h.signals.get("graph", 0.0) for h in hits) > 0 and any(h.graph_path for h in hits):
        return ""  # a path between two entities of the question is strong evidence on its own
    best_sim = max(h.signals.get("similarity", 0.0) for h in hits)
    best_words = max(h.signals.get("words", 0.0) for h in hits)
    best_image = max(h.signals.get("image", 0.0) for h in hits)
    if best_sim >= MIN_SIMILARITY or best_words >= MIN_WORDS or best_image >= 0.3:
        return ""
    return f"best similarity {best_sim:.2f} < {MIN_SIMILARITY}" + (
        f", at most {best_words:.0%} of the query words" if level != "naive" else "")


class AdaptiveRetriever:
    def __init__(self, store: Store, cfg: Config, embedder: Any):
        self.store = store
        self.cfg = cfg
        self.embedder = embedder
        self.router = Lazy(self._make_router)

    def _make_router(self) -> Any:
        """The shipped router runs on the packaged MiniLM, whatever embedder the store uses."""
        from .router import Router

        minilm = get_backend("text_embed", self.cfg, "minilm")
        if getattr(self.embedder, "model_id", None) == minilm.model_id:  # the same model (minilm-torch): load it once
            minilm = self.embedder
        learned = Router(minilm.embed, model_id=minilm.model_id)
        return resolve("router", self.cfg.router).from_config(self.cfg, learned)  # learned, llm or module:Class

    def search(self, query: str, k: int = 10, mode: str = "auto", filters: dict[str, Any] | None = None) -> Retrieval:
        if mode not in MODES:
            raise ConfigError(f"search mode {mode!r}: valid: {', '.join(MODES)}")
        if mode == "auto":
            route = self.router.get().classify(query)
            if not route.library and library_reason(query):  # routers other than the shipped one
                route.library = True
                route.reason += f"; rule: about the collection ({library_reason(query)}) -> library"
        elif mode == "library":
            route = Route("hybrid", False, 1.0, {"hybrid": 1.0}, "forced: --mode library", library=True)
        else:
            route = Route(mode, False, 1.0, {mode: 1.0}, f"forced: --mode {mode}")
        routing = {"mode": mode, **route.to_dict()}
        if mode == "auto" and not (filters or {}).get("speaker"):
            speaker = self._speaker_asked(query)
            if speaker:  # "what did Glenn say about ...": only Glenn's speech
                filters = dict(filters or {}, speaker=speaker)
                route.library = False
                routing["reason"] = routing.get("reason", "") + f"; rule: words of speaker {speaker!r} -> speaker filter"
                routing["speaker"] = speaker
        if route.library and not (filters or {}).get("speaker"):  # one speaker's words are not a collection question
            return self._library(query, filters, routing)
        # a summary already chooses the one video closest to the whole question
        pointed = (self._pointed(query) if mode == "auto" and not route.global_ and not (filters or {}).get("video_id")
                   else None)
        if pointed is None:
            return self._levels(query, k, mode, filters, route, routing)
        found = self._levels(query, k, mode, dict(filters or {}, video_id=list(pointed.video_ids)), route,
                             dict(routing, reason=routing.get("reason", "") + f"; rule: {pointed.reason()}",
                                  videos=list(pointed.video_ids)))
        if not found.hits:  # the kind was named loosely, or the videos were misjudged: the whole collection
            return self._levels(query, k, mode, filters, route, routing)
        found.weak = False  # the question named these videos: their best evidence is what it asks about
        return found

    def _pointed(self, query: str) -> Any:
        """The videos the question names by their kind ("in the screencast"), or None."""
        from vrag.filters import Filter

        from .pointed import pointed_kinds, pointed_videos

        if not pointed_kinds(query):  # no profile read for most questions
            return None
        return pointed_videos(query, self.store.segments.read(Filter.of(None, "profile")))

    def _levels(self, query: str, k: int, mode: str, filters: dict[str, Any] | None, route: Route,
                routing: dict[str, Any]) -> Retrieval:
        """Retrieval at the routed level, escalating (auto) while the evidence comes back weak."""
        level, steps, escalated = route.level, [], False
        tried: dict[str, list[Hit]] = {}
        while True:
            try:
                hits = self._run(level, query, k, filters, route.global_)
                weak = weak_evidence(level, hits, route.global_)
            except MissingDependencyError as exc:  # e.g. graph retrieval without spaCy: routed past it
                if mode != "auto":
                    raise
                hits, weak = [], f"unavailable: {exc}"
            tried[level] = hits
            steps.append({"level": level, "hits": len(hits), "weak": weak})
            if not weak or mode != "auto" or level == LEVELS[-1]:
                break
            level = LEVELS[LEVELS.index(level) + 1]
            escalated = True
        if weak and level == "graph" and mode == "auto":  # no entity to follow: the text evidence is the best we have
            fallback = tried.get("hybrid")
            if fallback is None:
                fallback = tried["hybrid"] = self._run("hybrid", query, k, filters, route.global_)
                steps.append({"level": "hybrid", "hits": len(fallback),
                              "weak": weak_evidence("hybrid", fallback, route.global_)})
            level, hits, weak = "hybrid", fallback, weak_evidence("hybrid", fallback, route.global_)
        if len(hits) < k and not route.global_:  # merged spans or few linked records: k asked, k given
            hits = top_up(hits, lambda n: self._run("naive", query, n, filters, False), k)
        return Retrieval(hits, level, route.confidence, escalated, route.global_, routing, steps, bool(weak))

    def _speaker_asked(self, query: str) -> str:
        """The known speaker whose words ``query`` asks about ("" when it names none)."""
        who = said_by(query)
        if not who:
            return ""
        from vrag.errors import VragError
        from vrag.speaker_library import known_speakers, resolve_speaker

        try:
            return resolve_speaker(known_speakers(self.store), who)
        except VragError:
            return ""

    def _library(self, query: str, filters: dict[str, Any] | None, routing: dict[str, Any]) -> Retrieval:
        """Every video the collection-level question asks for (not top-k), with its evidence."""
        from .library import LibraryRetriever

        hits, selection = LibraryRetriever(self.store, self.cfg, self.embedder).retrieve(query, filters)
        step = {"level": "library", "hits": len(hits), "weak": "" if hits else "no video matches",
                "videos": len(selection.matches), "of": selection.total}
        return Retrieval(hits, "library", 1.0, False, selection.query.summary,  # a rule decided: confidence 1
                         routing, [step], not hits, selection)

    def _run(self, level: str, query: str, k: int, filters: dict[str, Any] | None, global_: bool) -> list[Hit]:
        from .graph import GraphRetriever
        from .hybrid import HybridRetriever
        from .naive import NaiveRetriever

        if level == "naive":
            return NaiveRetriever(self.store, self.embedder).retrieve(query, k, filters)
        if level == "hybrid":
            hybrid = HybridRetriever(self.store, self.cfg, self.embedder)
            return hybrid.coverage(query, k, filters) if global_ else hybrid.retrieve(query, k, filters)
        return GraphRetriever(self.store, self.cfg, self.embedder).retrieve(query, k, filters)


def top_up(hits: list[Hit], naive: Any, k: int) -> list[Hit]:
    """``hits`` followed by the best naive (vector) hits they lack, up to ``k``: records neither returned
    nor already inside a merged hit first, then records only inside a merged hit; never one twice.
    ``naive(n)`` returns the ``n`` best naive hits. The ranking of ``hits`` is kept; a store with fewer
    than ``k`` matching records gives fewer."""
    shown = {h.segment.segment_id for h in hits}
    covered = shown | {p["segment_id"] for h in hits for p in h.segment.meta.get("parts", ())}
    extra = naive(k + len(covered))
    out = list(hits)
    for allowed in (lambda sid: sid not in covered, lambda sid: sid not in shown):
        for hit in extra:
            sid = hit.segment.segment_id
            if len(out) < k and allowed(sid) and sid not in {h.segment.segment_id for h in out}:
                out.append(hit)
    return out
