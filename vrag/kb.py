"""The KnowledgeBase facade: index, inspect, search."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable

from .config import Config
from .errors import VragError
from .pipeline import FileResult, IndexReport, Indexer, ProgressEvent
from .schema import Hit, Segment
from .store import FRAMES, Store, sql_quote

__all__ = ["KnowledgeBase", "SearchResult"]


class SearchResult(dict):
    """``{"query", "route", "confidence", "escalated", "hits": [...]}``; ``.hits`` keeps the Hit objects."""

    def __init__(self, query: str, route: str, confidence: float, escalated: bool, hits: list[Hit]):
        super().__init__(
            query=query, route=route, confidence=confidence, escalated=escalated,
            hits=[h.to_json() for h in hits],
        )
        self.hit_objects = hits


class KnowledgeBase:
    """A video knowledge base in one directory.

    >>> kb = KnowledgeBase("data/kb")                       # doctest: +SKIP
    >>> kb.index(["videos/"], progress=print)               # doctest: +SKIP
    >>> kb.search("where is the coffee roasting explained")  # doctest: +SKIP
    """

    def __init__(self, db: str | os.PathLike[str] | None = None, *, config: Config | None = None, **overrides: Any):
        cfg = config or Config.load()
        if db is not None:
            overrides["db"] = os.fspath(db)
        self.config = cfg.replace(**overrides) if overrides else cfg
        self.store = Store(Path(self.config.db))

    def __repr__(self) -> str:
        return f"KnowledgeBase({str(self.store.path)!r})"

    # -- indexing ---------------------------------------------------------------------
    def index(
        self,
        paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
        progress: Callable[[ProgressEvent], None] | None = None,
        prune: bool = False,
    ) -> IndexReport:
        """Index media files and folders (recursively). Unchanged files are skipped."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        return Indexer(self.store, self.config, progress).run(paths, prune=prune)

    def remove(self, paths: Iterable[str | os.PathLike[str]]) -> list[FileResult]:
        """Delete the records of the videos at ``paths`` (files, or folders = everything inside)."""
        out = []
        targets = [os.path.abspath(os.fspath(p)) for p in paths]
        rows = self.store.videos()
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
            paths = {row["video_id"]: row["path"] for row in self.store.videos()}
            for item in found["appearances"]:
                item["path"] = paths.get(item["video_id"], "")
        return found

    def reembed(self, progress: Callable[[int, int], None] | None = None, force: bool = False) -> dict[str, int]:
        """Re-embed the stored records whose vectors come from another model than the configured one.

        Text records are re-embedded from their text; keyframes from their stored thumbnails.
        Returns ``{table: records re-embedded}``.
        """
        import json

        from vrag.backends import get_backend
        from vrag.backends.text_embed import text_embedder
        from vrag.retrievers.visual import load_image

        done: dict[str, int] = {}
        text = text_embedder(self.config)
        if force or (self.store.text_model() or (text.model_id,))[0] != text.model_id:
            done["segments"] = self.store.reembed(text.embed, text.model_id, text.dim, progress)
        stored = self.store.model_of(FRAMES)
        if stored is not None:
            image = get_backend("image_embed", self.config)
            if force or stored[0] != image.model_id:

                def from_thumbs(metas: list[str]) -> Any:
                    return image.embed_images([load_image(self.store.path / json.loads(m)["thumb"]) for m in metas])

                done["frames"] = self.store.reembed(
                    from_thumbs, image.model_id, image.dim, progress, table_name=FRAMES, source="meta"
                )
        return done

    # -- inspection -------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """``{"videos": [{"video_id", "path", "duration", "status", "counts", ...}]}`` (stable contract)."""
        videos = []
        for row in self.store.videos():
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
                }
            )
        return {"db": str(self.store.path), "videos": videos}

    def segments(self, video_id: str | None = None, modality: str | None = None) -> list[Segment]:
        """Stored records, optionally of one video and/or modality, in time order."""
        parts = []
        if video_id:
            parts.append(f"video_id = {sql_quote(video_id)}")
        if modality:
            parts.append(f"modality = {sql_quote(modality)}")
        where = " AND ".join(parts) or None
        segs = [] if modality == "frame" else self.store.segments(where)
        if modality in (None, "frame"):
            segs += self.store.segments(where, table_name=FRAMES)  # keyframes live apart: image vectors
        return sorted(segs, key=lambda s: (s.video_id, s.start, s.modality))

    # -- search -----------------------------------------------------------------------
    def search(
        self,
        query: str = "",
        k: int = 10,
        mode: str = "auto",
        filters: dict[str, Any] | None = None,
        image: str | os.PathLike[str] | Any = None,
    ) -> SearchResult:
        """Retrieve the ``k`` best records for a text ``query`` and/or an ``image`` (path or RGB array).

        Only ``naive`` retrieval exists so far. An image searches the keyframes; with a CLIP
        ``image_embedder`` a text query searches them too.
        """
        from vrag.backends.text_embed import text_embedder
        from vrag.retrievers import NaiveRetriever, VisualRetriever, rrf

        if mode not in ("auto", "naive"):
            raise VragError(f"search mode {mode!r} is not available yet; valid: auto, naive")
        if not query.strip() and image is None:
            raise VragError("empty query: give a text query or an image")
        lists = []
        visual = VisualRetriever(self.store, self.config)
        if image is not None:
            lists.append(visual.by_image(image, k=k, filters=filters))
        if query.strip():
            lists.append(NaiveRetriever(self.store, text_embedder(self.config)).retrieve(query, k=k, filters=filters))
            if visual.can_search_text():
                lists.append(visual.by_text(query, k=k, filters=filters))
        hits = lists[0] if len(lists) == 1 else rrf(lists, k)
        result = SearchResult(query, "naive", 1.0, False, hits)
        if image is not None:
            result["image"] = str(image) if isinstance(image, (str, os.PathLike)) else "<array>"
        return result
