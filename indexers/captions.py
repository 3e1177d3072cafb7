"""Caption records, one per keyframe.

The default captioner is honest about what it is: a structured description assembled
from what the offline models saw — confident ImageNet tags, the text on screen, and
the gist of what is said — marked by its ``producer`` so nobody mistakes it for a
vision-language model's caption.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from vrag.registry import register
from vrag.schema import Segment, VideoRef

from .base import IndexContext, Stage

__all__ = ["structured_captions", "concept_records", "CaptionStage", "PRODUCER", "CONCEPT_PRODUCER"]

PRODUCER = "structured-caption(imagenet-tags+ocr+asr; not a VLM)@caption-3"  # 3: the light
#: Producer of the visual-concept records: a keyframe's ImageNet posterior projected into the text
#: space (ConSE over WordNet-enriched class names), searchable by text like any caption.
CONCEPT_PRODUCER = "visual-concepts(conse:efficientnet-lite0+wordnet)@concepts-2"  # 2: indoors/outdoors (not in the vector)
#: Classes named as "possibly" in a concept record's text (searchable, never stated as fact).
_POSSIBLE = 0.1
_GIST_WORDS = 30
#: Place words (concepts.place): in the concept records, kept out of the structured caption, whose text vector
#: they pulled towards every other scene of the same place (measured: bench-visual)
_PLACES = ("indoors", "outdoors")
_SCREEN_CHARS = 200


def _mmss(t: float) -> str:
    m, s = divmod(int(t), 60)
    return f"{m:02d}:{s:02d}"


def _overlapping(records: Iterable[Segment], start: float, end: float) -> list[Segment]:
    end = max(end, start + 0.01)  # a keyframe that ends where it starts still covers its own frame
    return [r for r in records if r.start < end - 1e-6 and r.end > start + 1e-6 and r.text]


def _gist(speech: Sequence[Segment]) -> str:
    words = " ".join(s.text for s in sorted(speech, key=lambda s: s.start)).split()
    text = " ".join(words[:_GIST_WORDS])
    return text + ("…" if len(words) > _GIST_WORDS else "")


def _screen(ocr: Sequence[Segment]) -> str:
    lines: list[str] = []
    for rec in sorted(ocr, key=lambda s: s.start):
        for line in rec.text.splitlines():
            line = line.strip()
            if line and line.lower() not in (x.lower() for x in lines):
                lines.append(line)
    text = "; ".join(lines)
    return text if len(text) <= _SCREEN_CHARS else text[: _SCREEN_CHARS - 1].rstrip() + "…"


def structured_captions(
    video: VideoRef, keyframes: Sequence[Segment], speech: Sequence[Segment], screen: Sequence[Segment]
) -> list[Segment]:
    """One caption per keyframe that has anything to say."""
    from vrag.backends.concepts import light

    out = []
    for kf in sorted(keyframes, key=lambda s: s.start):
        tags = [name for name, _p in kf.meta.get("tags", []) if name not in _PLACES]  # said in the concept records
        scene = kf.meta.get("scene") or {}
        colours = scene.get("colours") or []
        lit = light(scene) if scene else ""
        shown = _screen(_overlapping(screen, kf.start, kf.end))
        said = _gist(_overlapping(speech, kf.start, kf.end))
        parts = []
        if tags:
            parts.append("Looks like: " + ", ".join(tags) + ".")
        if colours and (tags or shown or said):
            parts.append("Colours: " + ", ".join(colours) + ".")
        if lit and lit not in tags and (tags or shown or said):
            parts.append(f"Light: {lit}.")
        if shown:
            parts.append(f'On screen: "{shown}".')
        if said:
            parts.append(f'Said: "{said}"')
        if not parts:
            continue
        text = f"Scene {_mmss(kf.start)}–{_mmss(kf.end)}. " + " ".join(parts)
        out.append(
            Segment(
                video_id=video.video_id,
                modality="caption",
                start=kf.start,
                end=kf.end,
                text=re.sub(r"\s+", " ", text).strip(),
                producer=PRODUCER,
                uri=video.uri,
                meta={"kind": "structured", "keyframe": kf.segment_id, "thumb": kf.meta.get("thumb")},
            )
        )
    return out


def concept_records(video: VideoRef, keyframes: Sequence[Segment], embedder: Any,
                    cache_dir: str | None = None) -> list[Segment]:
    """One visual-concept record per keyframe that has an ImageNet posterior: its text says what
    may be said (and, hedged, what it possibly shows); its vector is the ConSE projection of the
    posterior in ``embedder``'s space (set here, so the indexer does not re-embed the text)."""
    from vrag.backends.concepts import concept_space, concept_table, scene_words

    table = concept_table()
    space = concept_space(embedder, cache_dir)
    out = []
    for kf in sorted(keyframes, key=lambda s: s.start):
        classes = kf.meta.get("classes") or []
        if not classes:
            continue
        stated = [w for w, _c in kf.meta.get("tags", [])]
        scene = [w for w, _c in scene_words(classes, kf.meta.get("scene") or {})]
        possible = [table[int(i)][0] for i, p in classes if float(p) >= _POSSIBLE and table[int(i)][0] not in stated]
        vector = space.project(classes, extra=[w for w in scene if w not in _PLACES])  # as in the captions: measured
        if vector is None:
            continue
        text = "Seen: " + (", ".join(stated) if stated else "nothing certain") + "."
        if possible:
            text += " Possibly: " + ", ".join(possible) + "."
        out.append(Segment(
            video_id=video.video_id, modality="caption", start=kf.start, end=kf.end, text=text,
            producer=CONCEPT_PRODUCER, uri=video.uri, vector=[float(x) for x in vector],
            meta={"kind": "concepts", "keyframe": kf.segment_id, "thumb": kf.meta.get("thumb"),
                  "concepts": [[table[int(i)][0], round(float(p), 3)] for i, p in classes]
                  + [[w, 1.0] for w in scene if w not in {table[int(i)][0] for i, _p in classes}]},
        ))
    return out


@register("stage", "caption")
class CaptionStage(Stage):
    """One caption per keyframe from the configured captioner (structured, or a VLM)."""

    name = "caption"
    settings = ("text_embedder", "captioner", "vlm_provider", "vlm_model", "vlm_base_url")
    reads = ("frame", "asr", "ocr")
    writes = ("caption",)

    @classmethod
    def version_tag(cls) -> str:
        return f"{PRODUCER}+{CONCEPT_PRODUCER}"

    def run(self, video: VideoRef, ctx: IndexContext) -> list[Segment]:
        captioner = ctx.backend("captioner")
        frames = ctx.records("frame")
        ctx.fetch([str(kf.meta["thumb"]) for kf in frames if kf.meta.get("thumb")])
        out = captioner.caption(video, frames, ctx.records("asr"), ctx.records("ocr"), ctx.data_dir)
        ctx.producers["caption"] = captioner.producer
        # what is seen, searchable by text (a VLM's own captions already describe the picture in words)
        if str(ctx.cfg.captioner) == "structured" and any(kf.meta.get("classes") for kf in frames):
            from vrag.backends.concepts import user_cache_dir
            from vrag.backends.text_embed import text_embedder

            out += concept_records(video, frames, text_embedder(ctx.cfg), user_cache_dir())
        return out
