"""The knowledge-graph stage: entities and relations of a video's text, for its own tables.

The extraction (mentions and relations, each keeping its segment ids) is written with the
video's records; the graph itself (entities merged across videos) is rebuilt after the run.
"""

from __future__ import annotations

import re

from pathlib import Path
from typing import Any, Iterable, Iterator

from vrag.registry import register, resolve
from vrag.schema import Segment, VideoRef

from .base import IndexContext, Stage
from .graph_extract import PRODUCER

__all__ = ["GraphStage", "graph_texts", "merge_speakers", "SPEECH_LOGPROB_MIN"]

#: Speech the recogniser itself doubts (mean token log-probability below this) is not read for
#: entities: on the shared material every such segment is singing or a language the model does not
#: know ("Pascara bird -naked, Intrudical, A Walter Jones"), while spoken English scores above -0.4.
#: Whisper's own "failed decoding" line is -1.0; the segments still serve search.
SPEECH_LOGPROB_MIN = -0.7


def graph_texts(asr: Iterable[Segment], ocr: Iterable[Segment], caption: Iterable[Segment] = ()) -> list[tuple[str, str]]:
    """(segment id, text) pairs the extractor reads from a video's records: trusted English speech (the
    English rendering of other languages, under its original record's id, so mentions point at what was
    said), each screen line on its own, structured captions of a VLM (others only repeat speech and screen text).
    Sung lyrics are not read: decoded without the speech VAD they are often misheard, and every entity the
    shared material's lyrics gave was not one ("holes", "sorrow", "kite"; BENCHMARKS.md bench-entities);
    they stay searchable as speech."""
    texts = [(str((seg.meta or {}).get("translation_of") or seg.segment_id), seg.text) for seg in asr
             if float((seg.meta or {}).get("avg_logprob", 0.0)) >= SPEECH_LOGPROB_MIN and _english(seg)
             and not (seg.meta or {}).get("sung")]
    for seg in ocr:
        texts += [(seg.segment_id, line) for line in seg.text.splitlines() if line.strip()]
    texts += [(seg.segment_id, seg.text) for seg in caption if seg.producer.startswith("vlm:")]
    return texts


def _english(seg: Segment) -> bool:
    """English speech: its recorded language, or (records made before languages were recorded) its words."""
    language = (seg.meta or {}).get("language")
    return language == "en" if language else _reads_as_english(seg.text)


def _reads_as_english(text: str) -> bool:
    """Speech the English model can read: a sentence of six words or more in which at least one word
    in ten is an English function word (a French verse has none: "Les objets sans pieds d'efforts")."""
    from vrag.retrievers.query_terms import STOP_WORDS

    words = re.findall(r"[^\W\d_]+", text.lower())
    return len(words) < 6 or sum(w in STOP_WORDS for w in words) >= 0.1 * len(words)


def merge_speakers(mentions: list[Any], asr: Iterable[Segment]) -> list[Any]:
    """Named speakers (the speakers stage) as PERSON mentions whose provenance is their speech records;
    a speaker the text also names as a person joins that mention."""
    from .graph_extract import Mention, entity_key

    turns: dict[str, set[str]] = {}
    for seg in asr:
        meta = seg.meta or {}
        name, source = meta.get("speaker", ""), meta.get("speaker_source", "voice")
        if name and source != "voice":  # a label ("S2") is no entity
            turns.setdefault(name, set()).add(seg.segment_id)
    out = list(mentions)
    for name, segments in turns.items():
        key = entity_key(name)
        same = next((m for m in out if m.type == "PERSON" and m.key == key), None)
        if same is not None:
            same.segments |= segments
        else:
            out.append(Mention(name, "PERSON", key, set(segments)))
    return out


@register("stage", "graph")
class GraphStage(Stage):
    name = "graph"
    settings = ("text_embedder", "graph_extractor")
    settings_when = (("graph_extractor", "llm", ("llm_provider", "llm_model", "llm_base_url")),)
    reads = ("asr", "ocr", "caption", "speakers")
    writes = ()  # its own tables (mentions -> entities, relations)

    @classmethod
    def version_tag(cls) -> str:
        return PRODUCER

    def run(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
        texts = graph_texts(ctx.records("asr"), ctx.records("ocr"), ctx.records("caption"))
        extractor = resolve("graph_extractor", str(ctx.cfg.graph_extractor))(ctx.cfg)
        mentions, relations, notes = extractor.extract(texts, Path(ctx.data_dir) / "cache")
        mentions = merge_speakers(mentions, ctx.records("asr"))
        for note in notes:
            ctx.warn("graph", note)
        ctx.extraction = (mentions, relations)
        ctx.producers["graph"] = extractor.producer
        return iter(())
