"""On-screen text backends. The default is RapidOCR (PaddleOCR's PP-OCR models on ONNX Runtime)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..config import Config
from ..errors import BackendError
from ..registry import register, require
from . import Lazy

__all__ = ["TextLine", "RapidOCRBackend", "Box"]

#: (x0, y0, x1, y1) in image pixels
Box = tuple[int, int, int, int]

#: Text detection works on frames downscaled to this long side (measured: same lines found
#: on slides, talks and ads as PP-OCR's default upscaling, at a quarter of the cost).
_DET_MAX_SIDE = 960
#: A line crop whose grey 16x96 signature differs from the previous read's by less than this
#: (mean absolute grey level) at the same place is not recognised again.
_SAME_CROP = 6.0


@dataclass(slots=True)
class TextLine:
    """One line of text found in an image: box as 4 [x, y] points in image pixels."""

    text: str
    confidence: float
    box: list[list[float]]
    signature: Any = field(default=None, repr=False, compare=False)

    @property
    def top(self) -> float:
        return min(p[1] for p in self.box)

    @property
    def left(self) -> float:
        return min(p[0] for p in self.box)

    @property
    def height(self) -> float:
        return max(p[1] for p in self.box) - self.top


@register("ocr", "rapidocr")
class RapidOCRBackend:
    settings = ("threads", "ocr_rec_model", "ocr_rec_keys")

    def __init__(self, cfg: Config):
        self.threads = int(cfg.threads)
        #: another PP-OCR recognition model (ONNX) and its character list; "" = the packaged PP-OCRv4
        self.rec_model, self.rec_keys = str(cfg.ocr_rec_model), str(cfg.ocr_rec_keys)
        self._engine = Lazy(self._create)
        #: lines recognised vs. reused from the previous read (for benchmarks)
        self.recognised = self.reused = 0
        #: reads, and those that looked only where the picture changed
        self.reads = self.regions = 0

    @property
    def producer(self) -> str:
        return f"rapidocr:{Path(self.rec_model).stem}" if self.rec_model else "rapidocr:PP-OCRv4"

    def load(self) -> Any:
        return self._engine.get()

    def _create(self) -> Any:
        from .threads import rapidocr_without_spinning

        mod = require("rapidocr_onnxruntime", "On-screen text (OCR)", "ocr")
        try:
            with rapidocr_without_spinning():
                return mod.RapidOCR(
                    intra_op_num_threads=self.threads,
                    inter_op_num_threads=1,
                    det_limit_side_len=_DET_MAX_SIDE,
                    det_limit_type="max",
                    **({"rec_model_path": self.rec_model} if self.rec_model else {}),
                    **({"rec_keys_path": self.rec_keys} if self.rec_keys else {}),
                )
        except Exception as exc:
            raise BackendError(f"cannot load RapidOCR: {exc}") from exc

    def read(self, bgr: Any, previous: Sequence[TextLine] = (), regions: Sequence[Box] | None = None) -> list[TextLine]:
        """Text lines in a BGR uint8 image, top-to-bottom then left-to-right.

        Lines found at the same place with the same pixels as in ``previous`` (the last
        read of the same video) keep their text instead of being recognised again. With
        ``regions`` (boxes (x0, y0, x1, y1) where the picture changed since ``previous`` was
        read), text is looked for only inside them and the lines of ``previous`` outside them
        are kept as they are.
        """
        engine = self.load()
        self.reads += 1
        try:
            lines = self._read_reusing(engine, bgr, previous, regions)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"RapidOCR failed on a frame: {exc}") from exc
        lines.sort(key=lambda ln: (round(ln.top / 12), ln.left))
        return lines

    def _read_reusing(self, engine: Any, bgr: Any, previous: Sequence[TextLine],
                      regions: Sequence[Box] | None) -> list[TextLine]:
        # RapidOCR.__call__ split in two so unchanged lines skip recognition (rapidocr-onnxruntime 1.4.x)
        img = engine.load_img(bgr)
        raw_h, raw_w = img.shape[:2]
        img, ratio_h, ratio_w = engine.preprocess(img)
        op_record: dict[str, Any] = {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}}
        img, op_record = engine.maybe_add_letterbox(img, op_record)
        kept: list[TextLine] = []
        if regions is not None and img.shape[:2] == (raw_h, raw_w) and not op_record["padding_1"]["top"]:
            kept = [ln for ln in previous if not any(_touches(ln, box) for box in regions)]
            self.regions += 1
            dt_boxes = _detect_in(engine, img, regions)
            boxes = dt_boxes
        else:
            dt_boxes, _elapsed = engine.auto_text_det(img)
            boxes = None if dt_boxes is None else engine._get_origin_points(dt_boxes, op_record, raw_h, raw_w)
        if dt_boxes is None or not len(dt_boxes):
            return kept
        crops = engine.get_crop_img_list(img, dt_boxes)
        signatures = [_signature(c) for c in crops]
        found: list[tuple[str, float] | None] = []
        for box, sig in zip(boxes, signatures):
            same = _same_line(box, sig, previous)
            found.append(None if same is None else (same.text, same.confidence))
        todo = [i for i, f in enumerate(found) if f is None]
        if todo:
            batch = [crops[i] for i in todo]
            if engine.use_cls:
                batch, _cls, _elapsed = engine.text_cls(batch)
            rec, _elapsed = engine.text_rec(batch, False)
            for i, res in zip(todo, rec):
                found[i] = (str(res[0]), float(res[1]))
        self.recognised += len(todo)
        self.reused += len(found) - len(todo) + len(kept)
        lines = list(kept)
        for box, sig, res in zip(boxes, signatures, found):
            text, score = res  # type: ignore[misc]
            if text.strip() and score >= engine.text_score:
                lines.append(TextLine(text.strip(), score, [[float(x), float(y)] for x, y in box], sig))
        return lines


def _touches(line: TextLine, box: Box) -> bool:
    xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
    return min(xs) < box[2] and box[0] < max(xs) and min(ys) < box[3] and box[1] < max(ys)


def _detect_in(engine: Any, img: Any, regions: Sequence[Box]) -> Any:
    """Text boxes found inside ``regions`` of ``img``, in ``img`` coordinates (None when none)."""
    import numpy as np

    found = []
    for x0, y0, x1, y1 in regions:
        if x1 - x0 < 8 or y1 - y0 < 8:
            continue
        boxes, _elapsed = engine.text_det(np.ascontiguousarray(img[y0:y1, x0:x1]))
        if boxes is not None and len(boxes):
            found.extend(np.asarray(b, dtype=np.float32) + np.float32([x0, y0]) for b in boxes)
    return engine.sorted_boxes(np.array(found)) if found else None


def _signature(crop: Any) -> Any:
    import cv2
    import numpy as np

    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    return cv2.resize(gray, (96, 16), interpolation=cv2.INTER_AREA).astype(np.int16)


def _same_line(box: Any, sig: Any, previous: Sequence[TextLine]) -> TextLine | None:
    import numpy as np

    xs, ys = [p[0] for p in box], [p[1] for p in box]
    cx, cy, w, h = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, max(xs) - min(xs), max(ys) - min(ys)
    for line in previous:
        if line.signature is None:
            continue
        pxs, pys = [p[0] for p in line.box], [p[1] for p in line.box]
        pw, ph = max(pxs) - min(pxs), max(pys) - min(pys)
        close = abs((min(pxs) + max(pxs)) / 2 - cx) <= max(4.0, 0.05 * w) and abs((min(pys) + max(pys)) / 2 - cy) <= max(3.0, 0.3 * h)
        if close and abs(pw - w) <= max(6.0, 0.08 * w) and abs(ph - h) <= max(4.0, 0.3 * h):
            if float(np.mean(np.abs(line.signature - sig))) < _SAME_CROP:
                return line
    return None
