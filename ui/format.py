"""Text and small HTML pieces for the UI: route line, highlighted text, timeline strip. No Streamlit."""

from __future__ import annotations

import html
import os
import re
from typing import Any, Iterable

from vrag.timecode import mmss

__all__ = ["MODALITY_COLORS", "route_line", "highlight", "timeline_html", "counts_line", "time_span", "badge",
           "group_by_video", "md_escape", "short_path", "code"]

MODALITY_COLORS = {
    "asr": "#1f77b4", "ocr": "#ff7f0e", "frame": "#2ca02c", "caption": "#9467bd", "shot": "#8c564b",
    "window": "#17becf", "chapter": "#7f7f7f", "audio_event": "#e377c2", "visual": "#2ca02c",
}
_MODALITY_NAMES = {
    "asr": "speech", "ocr": "on-screen text", "frame": "keyframe", "caption": "caption", "shot": "shot",
    "window": "speech+text window", "chapter": "chapter", "audio_event": "audio event",
}
_STOP = frozenset(
    "a an and are as at be by did do does for from has have how in is it its of on or the that this to "
    "was were what when where which who whom why will with about into than then there their they".split()
)


def time_span(start: float, end: float) -> str:
    return f"{mmss(start)}–{mmss(end)}"


def badge(modality: str) -> str:
    """A coloured label for a modality (Streamlit markdown)."""
    colour = {"asr": "blue", "ocr": "orange", "frame": "green", "caption": "violet", "audio_event": "red"}.get(
        modality, "gray")
    return f":{colour}-badge[{_MODALITY_NAMES.get(modality, modality)}]"


def language_badge(language: str) -> str:
    """A grey label with the spoken language of a hit (" :gray-badge[fr]"), "" when unknown."""
    return f" :gray-badge[{md_escape(language)}]" if language else ""


def route_line(result: dict[str, Any]) -> str:
    """How the query was routed, in plain words (markdown): level, forced or chosen, escalation."""
    routing = result.get("routing") or {}
    route = result.get("route", "?")
    if route == "visual":
        return "Route: **image search** over the keyframes"
    if routing.get("mode", "auto") != "auto":
        line = f"Route: **{route}** (forced)"
    else:
        line = f"Route: **{route}**, chosen by the router (confidence {float(result.get('confidence', 0)):.2f})"
    if result.get("global"):
        line += " · overview question: whole-video coverage"
    if result.get("escalated"):
        steps = result.get("steps") or []
        tried = " → ".join(s["level"] + (f" ({s['weak']})" if s.get("weak") else "") for s in steps)
        line += f" · **escalated**: {tried}"
    elif routing.get("mode", "auto") == "auto":
        line += " · not escalated"
    if routing.get("videos"):  # "in the screencast": searched in the videos of the kind the question names
        rule = str(routing.get("reason", "")).rsplit("rule: names the ", 1)[-1].split(" -> ")[0]
        line += f" · searched only in the {md_escape(rule)} ({len(routing['videos'])} video(s)) the question names"
    if routing.get("parts"):
        line += f" · asked in {len(routing['parts'])} parts, each answered on its own"
    if result.get("weak"):
        line += " · evidence is weak"
    return line


def _terms(query: str, extra: Iterable[str] = ()) -> list[str]:
    words = [w for w in re.findall(r"\w+", query.lower()) if len(w) > 2 and w not in _STOP]
    return sorted(set(words) | {t.lower() for t in extra if t}, key=len, reverse=True)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|$~])")


def md_escape(text: str) -> str:
    """``text`` shown as is by Streamlit markdown (HTML escaped, markdown punctuation backslashed)."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def code(text: str) -> str:
    """``text`` as an inline code span (paths): shown literally, backticks made harmless."""
    return "`" + str(text).replace("`", "'").replace("\n", " ") + "`"


def highlight(text: str, query: str, extra: Iterable[str] = ()) -> str:
    """``text`` as safe markdown/HTML with the query's content words (and ``extra`` terms) in ``<mark>``.

    Words match at their start, so "glacier" also marks "glaciers".
    """
    safe = html.escape(" ".join(text.split()), quote=False)
    terms = _terms(query, extra)
    if terms:
        pattern = re.compile(r"\b(" + "|".join(re.escape(html.escape(t)) for t in terms) + r")", re.IGNORECASE)
        safe = pattern.sub(r"<mark>\1</mark>", safe)
    return _MD_SPECIAL.sub(r"\\\1", safe)


def timeline_html(duration: float, marks: list[dict[str, Any]], height: int = 14) -> str:
    """A strip as wide as the video with one mark per hit (``start``, ``end``, ``modality``, ``label``)."""
    duration = max(float(duration or 0.0), max((float(m["end"]) for m in marks), default=0.0), 1e-6)
    spans = []
    for m in marks:
        left = 100.0 * float(m["start"]) / duration
        width = max(0.8, 100.0 * (float(m["end"]) - float(m["start"])) / duration)
        colour = MODALITY_COLORS.get(m.get("modality", ""), "#555")
        outline = "outline:2px solid #d62728;z-index:2;" if m.get("selected") else ""
        spans.append(
            f'<div title="{html.escape(m.get("label", ""))}" style="position:absolute;left:{left:.2f}%;'
            f'width:{min(width, 100 - left):.2f}%;top:2px;bottom:2px;background:{colour};opacity:.85;'
            f'border-radius:2px;{outline}"></div>'
        )
    ticks = (f'<span style="position:absolute;left:0;top:{height + 1}px;font-size:10px;color:#888">00:00</span>'
             f'<span style="position:absolute;right:0;top:{height + 1}px;font-size:10px;color:#888">{mmss(duration)}</span>')
    return (f'<div class="vrag-timeline" style="position:relative;height:{height}px;background:#e9e9ef;'
            f'border-radius:3px;margin:2px 0 16px 0">{"".join(spans)}{ticks}</div>')


def counts_line(counts: dict[str, int]) -> str:
    return " · ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "no records"


def group_by_video(hits: list[dict[str, Any]]) -> list[tuple[str, list[tuple[int, dict[str, Any]]]]]:
    """Hits grouped per video, videos in the order of their best hit; each hit keeps its rank."""
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for rank, hit in enumerate(hits):
        groups.setdefault(hit["video_id"], []).append((rank, hit))
    return list(groups.items())


def short_path(path: str) -> str:
    return os.path.basename(path) or path
