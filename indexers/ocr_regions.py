"""Where the picture changed since an earlier read, so OCR can look only there.

A read keeps a small grey copy of its frame (:func:`grey_view`). The next read compares its own
copy with it: changed pixels are grouped into boxes, padded, and grown to take in every line of
the earlier read that they touch (a line is re-read whole or not at all). Lines outside the boxes
are still on screen unchanged; text detection and recognition run only inside the boxes. When
most of the picture changed, the whole frame is read again (None).
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["GREY_STEP", "grey_view", "changed_regions", "Box"]

#: The grey copy is this many times smaller than the OCR image on each side.
GREY_STEP = 4
#: A grey-copy pixel changed when its level moved by more than this (compression noise stays below).
_DELTA = 12
#: Padding around a changed area, in OCR-image pixels (the detector needs some context).
_PAD = 24
#: Above this fraction of the picture changed, reading it whole is as cheap and safer.
_WHOLE = 0.5

#: (x0, y0, x1, y1) in OCR-image pixels
Box = tuple[int, int, int, int]


def grey_view(bgr: Any) -> Any:
    """A grey copy of ``bgr`` reduced ``GREY_STEP`` times (int16, for differences)."""
    import cv2
    import numpy as np

    h, w = bgr.shape[:2]
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    small = cv2.resize(grey, (max(1, w // GREY_STEP), max(1, h // GREY_STEP)), interpolation=cv2.INTER_AREA)
    return small.astype(np.int16)


def changed_regions(now: Any, then: Any, size: tuple[int, int], lines: Sequence[Any]) -> list[Box] | None:
    """Boxes of the OCR image (``size`` = (width, height)) that differ between the grey copies ``now``
    and ``then``, grown to whole ``lines`` (objects with a ``box`` of 4 points) of the earlier read.

    ``[]``: nothing changed; ``None``: read the whole picture (most of it changed, or the copies
    do not compare).
    """
    import cv2
    import numpy as np

    if then is None or now.shape != then.shape:
        return None
    mask = (np.abs(now - then) > _DELTA).astype(np.uint8)
    if not mask.any():
        return []
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    w, h = size
    boxes = [_pad((int(x) * GREY_STEP, int(y) * GREY_STEP, int(x + bw) * GREY_STEP, int(y + bh) * GREY_STEP), w, h)
             for x, y, bw, bh, _area in stats[1:count]]
    line_boxes = [_line_box(line, w, h) for line in lines]
    boxes = _grow(boxes, line_boxes)
    if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) > _WHOLE * w * h:
        return None
    return boxes


def _pad(box: Box, w: int, h: int, pad: int = _PAD) -> Box:
    x0, y0, x1, y1 = box
    return max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)


def _line_box(line: Any, w: int, h: int) -> Box:
    xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
    return _pad((int(min(xs)), int(min(ys)), int(max(xs)) + 1, int(max(ys)) + 1), w, h, pad=4)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _grow(boxes: list[Box], line_boxes: list[Box]) -> list[Box]:
    """Merge overlapping boxes and take in the lines they touch, until nothing changes."""
    changed = True
    while changed:
        changed = False
        out: list[Box] = []
        for box in boxes:
            for lb in line_boxes:
                if _overlap(box, lb) and _union(box, lb) != box:
                    box, changed = _union(box, lb), True
            for i, other in enumerate(out):
                if _overlap(box, other):
                    out[i], changed = _union(box, other), True
                    break
            else:
                out.append(box)
        boxes = out
    return boxes
