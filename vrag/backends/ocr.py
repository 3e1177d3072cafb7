"""On-screen text backends. The default is RapidOCR (PaddleOCR's PP-OCR models on ONNX Runtime)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..errors import BackendError
from ..registry import register, require

__all__ = ["TextLine", "RapidOCRBackend"]


@dataclass(slots=True)
class TextLine:
    """One line of text found in an image: box as 4 [x, y] points in image pixels."""

    text: str
    confidence: float
    box: list[list[float]]

    @property
    def top(self) -> float:
        return min(p[1] for p in self.box)

    @property
    def left(self) -> float:
        return min(p[0] for p in self.box)


@register("ocr", "rapidocr")
class RapidOCRBackend:
    settings = ("threads",)
    producer = "rapidocr:PP-OCRv4"

    def __init__(self, cfg: Config):
        self.threads = int(cfg.threads)
        self._engine: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        with self._lock:
            if self._engine is None:
                mod = require("rapidocr_onnxruntime", "On-screen text (OCR)", "ocr")
                try:
                    self._engine = mod.RapidOCR(
                        intra_op_num_threads=self.threads, inter_op_num_threads=1
                    )
                except Exception as exc:
                    raise BackendError(f"cannot load RapidOCR: {exc}") from exc
            return self._engine

    def read(self, bgr: Any) -> list[TextLine]:
        """Text lines in a BGR uint8 image, top-to-bottom then left-to-right."""
        engine = self.load()
        try:
            result, _elapsed = engine(bgr)
        except Exception as exc:
            raise BackendError(f"RapidOCR failed on a frame: {exc}") from exc
        lines = [
            TextLine(text=str(text).strip(), confidence=float(score), box=[[float(x), float(y)] for x, y in box])
            for box, text, score in (result or [])
            if str(text).strip()
        ]
        lines.sort(key=lambda ln: (round(ln.top / 12), ln.left))
        return lines
