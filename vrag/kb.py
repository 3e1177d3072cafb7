"""The KnowledgeBase facade: index, inspect, search."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Callable, Iterable

from .config import Config
from .errors import VragError
from .kb_files import parse_storage_options
from .kb_checks import (  # noqa: F401 (FILTER_KEYS, MAX_K, MAX_QUERY_CHARS: the limits, importable from here too)
    FILTER_KEYS, MAX_K, MAX_QUERY_CHARS, check_filters as _check_filters, check_k as _check_k, check_text as _check_text,
    reembed_store, resolve_filters, spoken_languages,
)
from .pipeline import FileResult, IndexReport, Indexer, ProgressEvent
from .filters import Filter
from .results import AskResult, SearchResult
from .schema import Segment
from .store import Store

__all__ = ["KnowledgeBase", "SearchResult", "AskResult"]

class KnowledgeBase:
    """A video knowledge base in one directory.

    >>> kb = KnowledgeBase("data/kb")                       # doctest: +SKIP
    >>> kb.index(["videos/"], progress=print)               # doctest: +SKIP
    >>> kb.search("where is the coffee roasting explained")  # doctest: +SKIP
    """

    def __init__(self, db: str | os.PathLike[str] | None = None, *, config: Config | None = None, **overrides: Any):
        from .importing import defer_lance_rest_client

        defer_lance_rest_client()  # before LanceDB loads: its REST namespace client is half its import time
        cfg = config or Config.load()
        if db is not None:
            overrides["db"] = os.fspath(db)
        self.config = cfg.replace(**overrides) if overrides else cfg
        self.store = Store(self.config.db, parse_storage_options(self.config.storage_options))
        if not self.store.remote and self.store.path.is_file():
            raise VragError(f"{self.store.path}: is a file, not a knowledge-base directory (give --db a directory)")
        self._adaptive: Any = None

    def __repr__(self) -> str:
        return f"KnowledgeBase({self.store.uri!r})"

    # -- indexing ---------------------------------------------------------------------
    def index(
        self,
        paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
        progress: Callable[[ProgressEvent], None] | None = None,
        prune: bool = False,
    ) -> IndexReport:
        """Index media files and folders (recursively). Unchanged files are skipped.

        With the setting ``engine="ray"`` the stages run on a Ray cluster (``ray_address``,
        ``ray_workers``, ``ray_gpus``) and write into this knowledge base; see :mod:`vrag.engine_ray`.
        """
        from .index_lock import write_lock
        from .registry import resolve

        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        with write_lock(self.store.path, "index", name=self.store.uri):
            engine = resolve("engine", self.config.engine)  # local, ray (vrag.engine_ray) or module:Class
            return engine(self.store, self.config, progress).index(paths, prune=prune)

    def estimate(self, paths: Iterable[str | os.PathLike[str]]) -> list[Any]:
        """What indexing ``paths`` would cost, per file (:class:`vrag.estimate.FileEstimate`); loads
        no model and writes nothing."""
        from .estimate import estimate_files

        stored = self.store.videos.all() if self.store.exists() else []
        return estimate_files(paths, self.config, stored)

    def remove(self, paths: Iterable[str | os.PathLike[str]]) -> list[FileResult]:
        """Delete the records of the videos at ``paths`` (files, or folders = everything inside)."""
        from .index_lock import write_lock

        with write_lock(self.store.path, "remove", name=self.store.uri):
            return self._remove(paths)

    def _remove(self, paths: Iterable[str | os.PathLike[str]]) -> list[FileResult]:
        out = []
        targets = [os.path.abspath(os.fspath(p)) for p in paths]
        rows = self.store.videos.all()
        for target in targets:
            matched = [
                r for r in rows
                if r["abs_path"] == target or r["abs_path"].startswith(target.rstrip(os.sep) + os.sep)
            ]
            if not matched:
                out.append(FileResult(target, "failed", "not in the knowledge base"))
            for row in matched:
                self.store.delete_video(row["video_id"])
                out.append(FileResult(row["path"], "removed", "", row["video_id"]))
        if any(r.status == "removed" for r in out) and "graph" in self.config.stages:
            Indexer(self.store, self.config).rebuild_graph()  # entities lose that video's provenance
        return out

    def graph_entity(self, name: str) -> dict[str, Any] | None:
        """An entity by name or alias: type, aliases, neighbours, and where it appears (video, start, end)."""
        from vrag.graph_store import find_entity

        found = find_entity(self.store, name)
        if found is not None:
            paths = {row["video_id"]: row["path"] for row in self.store.videos.all()}
            for item in found["appearances"]:
                item["path"] = paths.get(item["video_id"], "")
        return found

    def graph_entities(self, type: str | None = None) -> list[dict[str, Any]]:
        """The graph's entities (``name``, ``type``, ``appearances``: records that mention it, ``videos``,
        ``aliases``), most appearances first; ``type`` (PERSON, ORG, ...; any case) keeps one type."""
        import json

        rows = self.store.graph.entities(["name", "type", "aliases", "videos", "provenance"])
        if type is not None:
            kinds = sorted({r["type"] for r in rows})
            rows = [r for r in rows if r["type"].lower() == type.strip().lower()]
            if not rows:
                raise VragError(f"no entities of type {type!r} in {self.store.uri}; "
                                + (f"types here: {', '.join(kinds)}" if kinds else "the graph is empty"))
        out = [{"name": r["name"], "type": r["type"], "appearances": len(json.loads(r["provenance"])),
                "videos": len(json.loads(r["videos"])), "aliases": json.loads(r["aliases"])} for r in rows]
        return sorted(out, key=lambda e: (-e["appearances"], e["name"].lower()))

    def reembed(self, progress: Callable[[int, int], None] | None = None, force: bool = False) -> dict[str, int]:
        """Re-embed the stored records whose vectors come from another model than the configured one.

        Text records are re-embedded from their text; keyframes from their stored thumbnails.
        Returns ``{table: records re-embedded}``.
        """
        from .index_lock import write_lock

        with write_lock(self.store.path, "reembed", name=self.store.uri):
            return reembed_store(self.store, self.config, progress, force)

    # -- inspection -------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """``{"videos": [{"video_id", "path", "duration", "status", "counts", ..., "languages"}], "languages"}``
        (stable contract; ``languages``: spoken languages, most seconds first, from each video's profile)."""
        videos = []
        spoken = spoken_languages(self.store)
        for row in self.store.videos.all():
            videos.append(
                {
                    "video_id": row["video_id"],
                    "path": row["path"],
                    "duration": round(float(row["duration"] or 0.0), 3),
                    "status": row["status"],
                    "counts": row["counts"],
                    "errors": row["errors"],
                    "warnings": row["warnings"],
                    "models": row["producers"],
                    "has_video": bool(row["has_video"]),
                    "has_audio": bool(row["has_audio"]),
                    "indexed_at": row["indexed_at"].isoformat() if row["indexed_at"] else None,
                    "languages": spoken.get(row["video_id"], []),
                }
            )
        found = Counter(lang for v in videos for lang in v["languages"])
        return {"db": self.store.uri, "videos": videos, "languages": [lang for lang, _ in found.most_common()]}

    def segments(self, video_id: str | None = None, modality: str | None = None) -> list[Segment]:
        """Stored records, optionally of one video and/or modality, in time order."""
        where = Filter.of(video_id or None, modality or None)
        segs = [] if modality == "frame" else self.store.segments.read(where)
        if modality in (None, "frame"):
            segs += self.store.frames.read(where)  # keyframes live apart: image vectors
        return sorted(segs, key=lambda s: (s.video_id, s.start, s.modality))

    def videos(self) -> list[dict[str, Any]]:
        """The indexed videos: the ``videos`` list of :meth:`status` (``video_id``, ``path``, ``duration``...)."""
        return self.status()["videos"]

    def video(self, video: str) -> dict[str, Any]:
        """The stored row of one indexed video, named by video id, indexed path or file name."""
        if not self.store.exists():
            raise VragError(f"{self.store.uri}: no knowledge base here yet; run `vrag index PATH --db {self.store.uri}` first")
        try:
            ids = sorted(set(self._resolve_filters({"video_id": video})["video_id"]))
        except VragError:
            raise VragError(f"video {video!r}: no video indexed in {self.store.uri} has that id, path or file "
                            "name (`vrag status` lists them)") from None
        if len(ids) > 1:
            raise VragError(f"video {video!r}: {len(ids)} indexed videos have that name; give the path or the video id")
        row = self.store.videos.get(ids[0])
        if row is None:  # pragma: no cover - resolved ids come from the same table
            raise VragError(f"video {video!r}: not in {self.store.uri}")
        return row

    def transcript(self, video: str, start: float | None = None, end: float | None = None,
                   modalities: Iterable[str] = ("asr", "ocr")) -> list[Segment]:
        """A video's speech (``asr``) and screen text (``ocr``) records overlapping ``[start, end]`` seconds,
        in time order; ``video`` is a video id, indexed path or file name."""
        modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
        unknown = [m for m in modalities if m not in ("asr", "ocr", "caption", "audio_event")]
        if unknown or not modalities:
            raise VragError(f"transcript modality {unknown[0] if unknown else ''!r}: use asr (speech) and/or ocr (screen text)")
        if start is not None and end is not None and end < start:
            raise VragError(f"time range {start:g}-{end:g} s: the end is before the start")
        row = self.video(video)
        where = Filter.of(row["video_id"], modalities, start=start, end=end)
        return sorted(self.store.segments.read(where), key=lambda s: (s.start, s.modality, s.end))

    # -- search -----------------------------------------------------------------------
    def _retriever(self) -> Any:
        if self._adaptive is None:
            from vrag.backends.text_embed import text_embedder
            from vrag.retrievers.adaptive import AdaptiveRetriever

            self._adaptive = AdaptiveRetriever(self.store, self.config, text_embedder(self.config))
        return self._adaptive

    def search(
        self,
        query: str = "",
        k: int = 10,
        mode: str = "auto",
        filters: dict[str, Any] | None = None,
        image: str | os.PathLike[str] | Any = None,
        speaker: str | None = None,
    ) -> SearchResult:
        """Retrieve the ``k`` best pieces of evidence for a text ``query`` and/or an ``image``.

        ``mode``: ``auto`` lets the router choose naive, hybrid or graph retrieval (escalating when
        the evidence is weak), or library retrieval for a question about the collection ("which
        clips have music?": every matching video, grouped per video); a level name forces it. ``filters``: ``video_id`` (one or a list),
        ``modality`` (one or a list), ``start``/``end`` seconds. An ``image`` (path or RGB array)
        searches the keyframes and is fused with the text hits. ``speaker`` (a name, or a label such as
        "S2"; also ``filters["speaker"]``) keeps the speech of that speaker only.
        """
        from vrag.retrievers import VisualRetriever, rrf
        from vrag.retrievers.naive import record_filter

        _check_text(query, "query")
        if not query.strip() and image is None:
            raise VragError("empty query: give a text query or an image")
        _check_k(k)
        if not self.store.exists():
            raise VragError(f"{self.store.uri}: no knowledge base here yet; run `vrag index PATH --db {self.store.uri}` first")
        if speaker is not None:
            filters = dict(filters or {}, speaker=speaker)
        filters = self._resolve_filters(filters)
        record_filter(filters, query)  # bad modalities and time ranges fail here, before any model loads
        image_hits = VisualRetriever(self.store, self.config).by_image(image, k=k, filters=filters) if image is not None else []
        shown = None if image is None else str(image) if isinstance(image, (str, os.PathLike)) else "<array>"
        if not query.strip():
            return SearchResult(query, "visual", 1.0, False, image_hits, image=shown)
        found = self._retriever().search(query, k=k, mode=mode, filters=filters)
        hits = rrf([found.hits, image_hits], k) if image_hits else found.hits
        return SearchResult(query, found.route, found.confidence, found.escalated, hits, found, shown)

    def _resolve_filters(self, filters: dict[str, Any] | None) -> dict[str, Any] | None:
        return resolve_filters(self.store, filters)

    def speakers(self, video: str | None = None) -> list[dict[str, Any]]:
        """The speakers of the indexed videos (or of ``video``: an id, path or file name): ``{"video_id",
        "path", "label", "name", "source", "seconds", "turns", "same_as"}``; ``same_as`` lists the speakers of
        other videos with the same voice (``[{"video_id", "label", "name", "similarity"}]``)."""
        from .speaker_library import list_speakers

        ids = self._resolve_filters({"video_id": video})["video_id"] if video else None
        return list_speakers(self.store, ids)

    def rename_speaker(self, video: str, speaker: str, name: str) -> dict[str, Any]:
        """Name ``speaker`` ("S2", or its current name) of ``video``; the name is kept across re-indexing
        and given to the same voice in other videos. Returns ``{"video_id", "label", "name", "also": [...]}``."""
        from .index_lock import write_lock
        from .speaker_library import add_person, rename_speaker

        ids = self._resolve_filters({"video_id": video})["video_id"]
        with write_lock(self.store.path, "speakers rename", name=self.store.uri):
            done = rename_speaker(self.store, ids[0], speaker, name)
            named = [(ids[0], done["label"])] + [(o["video_id"], o["label"]) for o in done["also"]]
            if [add_person(self.store, vid, done["name"], label) for vid, label in named].count(True):
                Indexer(self.store, self.config).rebuild_graph()  # the name becomes a PERSON entity now
            return done

    def ask(self, question: str, k: int = 8, mode: str = "auto", filters: dict[str, Any] | None = None,
            speaker: str | None = None) -> AskResult:
        """Answer ``question`` from the indexed videos, citing video + time span for every quote.

        ``.answer.text``, ``.citations`` (``[{"video_id", "path", "start", "end"}]``), ``.search``;
        an unanswerable question gets "Not found in the indexed videos." and no citations.
        """
        from .answering import answer_question

        _check_text(question, "question")
        if not question.strip():
            raise VragError("empty question")
        return answer_question(self, question, k, mode, filters, speaker)

    def as_langchain_retriever(self, k: int = 5, mode: str = "auto", filters: dict[str, Any] | None = None) -> Any:
        """A ``langchain_core`` ``BaseRetriever``: each hit becomes a Document whose metadata holds the hit's fields."""
        from .registry import require

        require("langchain_core", "The LangChain retriever", "llm")
        _check_k(k)  # here, not as a pydantic ValidationError (which would also take k="5")
        _check_filters(filters)
        from vrag.retrievers.langchain_adapter import VragRetriever

        return VragRetriever(kb=self, k=k, mode=mode, filters=filters)
