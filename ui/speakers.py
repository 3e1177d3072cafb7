"""Who speaks, in the UI: the speaker filter of the sidebar and a speaker timeline per video."""

from __future__ import annotations

import html
from typing import Any

import streamlit as st

from vrag.errors import VragError
from vrag.timecode import mmss

__all__ = ["speaker_filter", "speaker_strip", "speaker_timeline_html"]

#: One colour per speaker, in order of first appearance (S1, S2, ...).
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_KEY = "_speakers_of_run"


def _speakers(ctx: Any) -> list[dict[str, Any]]:
    """Every speaker of the knowledge base, read once per run of the script."""
    if _KEY not in st.session_state or st.session_state[_KEY][0] != id(ctx):
        try:
            found = ctx.kb.speakers() if ctx.has_kb() else []
        except VragError:
            found = []
        st.session_state[_KEY] = (id(ctx), found)
    return st.session_state[_KEY][1]


def speaker_filter(ctx: Any) -> str | None:
    """The sidebar's speaker choice (None: everyone); only shown when some video has speakers."""
    names = sorted({s["name"] for s in _speakers(ctx)}, key=lambda n: (n[:1] == "S" and n[1:].isdigit(), n))
    if not names:
        return None
    choice = st.sidebar.selectbox("Speaker", [""] + names, key="f_speaker",
                                  format_func=lambda n: n or "everyone",
                                  help="only what this speaker says (labels S1, S2... are per video)")
    return choice or None


def speaker_timeline_html(duration: float, speakers: list[dict[str, Any]], height: int = 12) -> str:
    """A strip as wide as the video with each speaker's turns in its colour, and a legend."""
    duration = max(float(duration or 0.0), max((t[1] for s in speakers for t in s["turns"]), default=0.0), 1e-6)
    spans, legend = [], []
    for i, spk in enumerate(speakers):
        colour = COLORS[i % len(COLORS)]
        who = spk["label"] if spk["name"] == spk["label"] else f"{spk['label']} {spk['name']}"
        for start, end in spk["turns"]:
            left = 100.0 * start / duration
            width = max(0.5, 100.0 * (end - start) / duration)
            title = html.escape(f"{who} {mmss(start)}–{mmss(end)}")
            spans.append(f'<div title="{title}" style="position:absolute;left:{left:.2f}%;width:{min(width, 100 - left):.2f}%;'
                         f'top:1px;bottom:1px;background:{colour};border-radius:2px"></div>')
        legend.append(f'<span style="color:{colour};margin-right:10px">■ {html.escape(who)}'
                      f' <span style="color:#888">({spk["seconds"]:.0f}s)</span></span>')
    return (f'<div style="font-size:11px">{"".join(legend)}</div><div class="vrag-speakers" style="position:relative;'
            f'height:{height}px;background:#f1f1f5;border-radius:3px;margin:1px 0 8px 0">{"".join(spans)}</div>')


def speaker_strip(ctx: Any, video_id: str, duration: float) -> None:
    """The speaker timeline of one video (nothing when it has no speakers)."""
    mine = [s for s in _speakers(ctx) if s["video_id"] == video_id]
    if mine:
        st.markdown(speaker_timeline_html(duration, mine), unsafe_allow_html=True)
