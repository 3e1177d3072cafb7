"""The speaker stage: who speaks each speech record ("S1", "S2", ... or a name), from the voices.

Reads the speech records (their word times say where speech is), embeds ~1.6 s windows of the audio
with the voice encoder, clusters them (:mod:`vrag.speakers`), and labels every speech record
(``meta["speaker"]``, ``meta["speaker_label"]``, ``meta["speaker_source"]``); a record in which the
speaker changes is split there. One ``speaker`` record per voice keeps its centroid and turns (for
renames that survive re-indexing, the same voice across videos, and the UI's timeline).
Names come from the video (:mod:`vrag.speaker_names`) and from the names users gave
(:mod:`vrag.speaker_library`). A video without speech is left as it is.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Sequence

from vrag.config import Config
from vrag.errors import MissingDependencyError
from vrag.media.audio import SAMPLE_RATE, AudioChunks
from vrag.registry import register
from vrag.schema import Segment, VideoRef, segment_id

from .base import IndexContext, Stage

__all__ = ["SpeakerStage", "PRODUCER", "lower_third"]

PRODUCER = "speakers-1"


@register("stage", "speakers")
class SpeakerStage(Stage):
    name = "speakers"
    version = "1"
    settings = ("voice_encoder", "speaker_threshold")
    reads = ("asr", "ocr")
    writes = ("asr", "speaker")

    @classmethod
    def fingerprint_extra(cls, cfg: Config, media_path: str) -> dict[str, Any]:
        """Whether the default encoder is installed: installing it later redoes the stage."""
        if cfg.voice_encoder == "resemblyzer" and importlib.util.find_spec("resemblyzer") is None:
            return {"encoder": "missing"}
        return {}

    def run(self, video: VideoRef, ctx: IndexContext) -> list[Segment]:
        records = sorted(ctx.records("asr"), key=lambda s: s.start)
        # the speech records are this stage's output too: when the speech stage did not run now, the
        # stored ones are given back (labelled or not), never dropped
        keep = [] if "asr" in ctx.ran else records
        if not records or not video.has_audio:
            return keep
        encoder = ctx.backend("voice")
        try:
            encoder.load()
        except MissingDependencyError as exc:
            ctx.warn("speakers", f"speakers not found: {exc}")
            return keep
        from vrag.speakers import diarize, label_records, renumber, speech_spans, windows_in

        windows = windows_in(speech_spans(_word_spans(records)))
        embeddings = _embed(encoder, video, windows, ctx)
        if embeddings is None:
            return keep
        d = diarize(embeddings, windows, float(ctx.cfg.speaker_threshold))
        pieces = label_records(d, records)
        # the records are changed in place (they may be the speech stage's own): all or nothing
        before = [(rec, rec.start, rec.end, rec.text, rec.meta, rec.segment_id) for rec in records]
        try:
            extra = _apply(records, pieces, video)
            labelled = sorted(records + extra, key=lambda s: s.start)
            mapping = renumber(d, [rec.meta["speaker_index"] for rec in labelled])  # S1, S2... as they first speak
            for rec in labelled:
                rec.meta["speaker_index"] = mapping[rec.meta["speaker_index"]]
            names = _names(d, labelled, ctx)
            speaker_records = _speaker_records(video, d, labelled, names)
            _name_records(labelled, d, names)
        except BaseException:
            for rec, start, end, text, meta, sid in before:
                rec.start, rec.end, rec.text, rec.meta, rec.segment_id = start, end, text, meta, sid
            raise
        ctx.producers["speakers"] = f"{encoder.producer}@{PRODUCER}"
        return (extra if "asr" in ctx.ran else labelled) + speaker_records


def _word_spans(records: Sequence[Segment]) -> list[tuple[float, float]]:
    out = []
    for rec in records:
        words = [(float(w["start"]), float(w["end"])) for w in (rec.meta or {}).get("words") or []
                 if "start" in w and "end" in w]
        out += words or [(rec.start, rec.end)]
    return out


def _embed(encoder: Any, video: VideoRef, windows: list[tuple[float, float]], ctx: IndexContext) -> Any:
    """Voice vectors of ``windows``, read chunk by chunk (None when the audio cannot be read)."""
    import numpy as np

    out = np.zeros((len(windows), encoder.dim), np.float32)
    starts = np.array([w[0] for w in windows])
    chunks = AudioChunks(video.abs_path, float(ctx.cfg.asr_chunk_seconds))
    for offset, samples in chunks:
        end = offset + len(samples) / SAMPLE_RATE
        mine = np.flatnonzero((starts >= offset) & (starts < end))
        if len(mine):
            out[mine] = encoder.embed(samples, [windows[i] for i in mine], offset)
        ctx.report("speakers", end)
    if chunks.error:
        ctx.warn("speakers", chunks.error)
    if not np.any(out):
        return None
    return out


def _apply(records: list[Segment], pieces: list[list[tuple[int, list[dict]]]], video: VideoRef) -> list[Segment]:
    """Label ``records`` in place with their speaker index (``meta["speaker_index"]``, replaced by
    labels later); a record spoken by two is cut: its first part stays, the others are returned."""
    extra = []
    for rec, parts in zip(records, pieces):
        rec.meta = dict(rec.meta or {})
        rec.meta["speaker_index"] = parts[0][0]
        if len(parts) == 1:
            continue
        for k, (who, words) in enumerate(parts):
            text = " ".join(str(w["word"]).strip() for w in words).strip()
            meta = dict(rec.meta, words=list(words), speaker_index=who)
            start, end = float(words[0]["start"]), float(words[-1]["end"])
            if k == 0:
                rec.start, rec.end, rec.text, rec.meta = start, end, text, meta
                rec.segment_id = segment_id(rec.video_id, rec.modality, start, end, rec.producer, text)
            else:
                extra.append(Segment(video_id=video.video_id, modality=rec.modality, start=start, end=end, text=text,
                                     producer=rec.producer, uri=rec.uri, meta=meta))
    return extra


def _names(d: Any, labelled: list[Segment], ctx: IndexContext) -> dict[int, tuple[str, str]]:
    """Names of the speakers: given by users (this video, then the same voice elsewhere), else from the video."""
    from vrag.speaker_library import load_renames, match_names
    from vrag.speaker_names import Turn, name_speakers, spacy_persons

    names = match_names(ctx.video.video_id, [s.centroid for s in d.speakers], load_renames(ctx.data_dir))
    turns: list[Turn] = []
    for rec in labelled:
        who = rec.meta["speaker_index"]
        if turns and turns[-1].speaker == who:
            turns[-1].text += " " + rec.text
            turns[-1].end = rec.end
        else:
            turns.append(Turn(who, rec.text, rec.start, rec.end))
    screen = [(s.start, s.end, line) for s in ctx.records("ocr") for line in lower_third(s)]
    try:
        persons = spacy_persons()
    except MissingDependencyError as exc:
        ctx.warn("speakers", f"speaker names not read from the video: {exc}")
        return names
    found = name_speakers(turns, len(d.speakers), screen, persons)
    taken = {n.lower() for n, _ in names.values()}
    for who, (name, kind) in found.items():
        if who not in names and name.lower() not in taken:
            names[who] = (name, kind)
            taken.add(name.lower())
    return names


#: A caption line counts as a lower third when its box starts below this share of the picture's height ...
LOWER_THIRD_TOP = 0.55
#: ... and the screen shows at most this many lines (a map full of place names is no caption).
_CAPTION_LINES = 4


def lower_third(ocr: Segment) -> list[str]:
    """The lines of a screen-text record that sit in the lower part of the picture (by their OCR boxes,
    normalised 0..1); none when the record has no boxes or too many lines to be a caption."""
    lines = (ocr.meta or {}).get("lines") or []
    if not isinstance(lines, list) or len(lines) > _CAPTION_LINES:
        return []
    out = []
    for line in lines:
        box = line.get("box") if isinstance(line, dict) else None
        if box and line.get("text") and min(float(p[1]) for p in box) >= LOWER_THIRD_TOP:
            out.append(str(line["text"]))
    return out


def _name_records(labelled: list[Segment], d: Any, names: dict[int, tuple[str, str]]) -> None:
    for rec in labelled:
        who = rec.meta.pop("speaker_index")
        label = d.speakers[who].label
        name, kind = names.get(who, (label, "voice"))
        rec.meta.update(speaker=name, speaker_label=label, speaker_source=kind)


def _speaker_records(video: VideoRef, d: Any, labelled: list[Segment], names: dict[int, tuple[str, str]]
                     ) -> list[Segment]:
    """One record per voice (no text): its label, name, evidence, centroid and turns."""
    out = []
    for who, spk in enumerate(d.speakers):
        turns: list[list[float]] = []
        for rec in labelled:
            if rec.meta["speaker_index"] != who:
                continue
            if turns and rec.start - turns[-1][1] < 1.0:
                turns[-1][1] = rec.end
            else:
                turns.append([round(rec.start, 3), round(rec.end, 3)])
        if not turns:
            continue
        name, kind = names.get(who, (spk.label, "voice"))
        out.append(Segment(video_id=video.video_id, modality="speaker", start=turns[0][0], end=turns[-1][1], text="",
                           producer=PRODUCER, uri=video.uri,
                           meta={"label": spk.label, "name": name, "source": kind, "centroid": spk.centroid,
                                 "turns": turns, "seconds": round(sum(b - a for a, b in turns), 3)}))
    return out
