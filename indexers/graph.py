"""The knowledge-graph stage: entities and relations of a video's text, for its own tables.

The extraction (mentions and relations, each keeping its segment ids) is written with the
video's records; the graph itself (entities merged across videos) is rebuilt after the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from vrag.registry import register, resolve
from vrag.schema import Segment, VideoRef

from .base import IndexContext, Stage
from .graph_extract import PRODUCER

__all__ = ["GraphStage"]


@register("stage", "graph")
class GraphStage(Stage):
    name = "graph"
    settings = ("text_embedder", "graph_extractor")
    settings_when = (("graph_extractor", "llm", ("llm_provider", "llm_model", "llm_base_url")),)
    reads = ("asr", "ocr", "caption")
    writes = ()  # its own tables (mentions -> entities, relations)

    @classmethod
    def version_tag(cls) -> str:
        return PRODUCER

    def run(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
        texts: list[tuple[str, str]] = []
        for seg in ctx.records("asr"):
            texts.append((seg.segment_id, seg.text))
        for seg in ctx.records("ocr"):  # each screen line is its own phrase
            texts += [(seg.segment_id, line) for line in seg.text.splitlines() if line.strip()]
        for seg in ctx.records("caption"):
            if seg.producer.startswith("vlm:"):  # structured captions only repeat speech and screen text
                texts.append((seg.segment_id, seg.text))
        extractor = resolve("graph_extractor", str(ctx.cfg.graph_extractor))(ctx.cfg)
        mentions, relations, notes = extractor.extract(texts, Path(ctx.data_dir) / "cache")
        for note in notes:
            ctx.warn("graph", note)
        ctx.extraction = (mentions, relations)
        ctx.producers["graph"] = extractor.producer
        return iter(())
