"""Human time codes for spans on a media timeline: ``mm:ss`` (``h:mm:ss`` past an hour)."""

from __future__ import annotations

import math

__all__ = ["mmss", "span", "parse"]


def mmss(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def span(path: str, start: float, end: float) -> str:
    """``path @ mm:ss–mm:ss``, how every hit and citation is shown to people."""
    return f"{path} @ {mmss(start)}–{mmss(end)}"


def parse(text: str) -> float:
    """Seconds from ``90``, ``90.5``, ``1:30`` or ``1:02:03``; ValueError otherwise."""
    parts = str(text).strip().split(":")
    if not 1 <= len(parts) <= 3 or any(p.strip() == "" for p in parts):
        raise ValueError(f"not a time: {text!r} (use seconds, mm:ss or h:mm:ss)")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use seconds, mm:ss or h:mm:ss)") from None
    for value, unit in zip(values[1:], ("minutes", "seconds")[3 - len(values):]):
        if not 0 <= value < 60:  # "99:99" is no time, not 6039 s (a plain "90" stays 90 s)
            raise ValueError(f"not a time: {text!r} ({unit} must be from 0 to below 60)")
    seconds = 0.0
    for v in values:
        seconds = seconds * 60 + v
    if seconds < 0:
        raise ValueError(f"not a time: {text!r} (negative)")
    if not math.isfinite(seconds):  # "nan", "inf": float() takes them, a time filter cannot
        raise ValueError(f"not a time: {text!r} (use seconds, mm:ss or h:mm:ss)")
    return seconds
