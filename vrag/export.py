"""Exports of what a video says or shows: SRT, WebVTT, plain text or JSON subtitles from its stored records,
and an answer as Markdown whose citations are links to the moment (``file:///...#t=START,END``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .errors import VragError
from .timecode import span

if TYPE_CHECKING:
    from .kb import KnowledgeBase
    from .results import AskResult
    from .schema import Segment

__all__ = ["FORMATS", "MODALITIES", "export_video", "render", "ask_markdown"]

FORMATS = ("srt", "vtt", "txt", "json")
#: ``--modality`` names and the records they export.
MODALITIES = {"speech": "asr", "asr": "asr", "ocr": "ocr", "screen": "ocr"}


def _clock(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _line(text: str) -> str:
    return " ".join(text.split())


def _languages(segs: list[Segment]) -> list[str]:
    return sorted({str(s.meta["language"]) for s in segs if s.meta.get("language")})


def _cue_text(seg: Segment, several_languages: bool) -> str:
    text = _line(seg.text)
    if seg.meta.get("speaker"):
        text = f"{seg.meta['speaker']}: {text}"
    if several_languages and seg.meta.get("language"):
        text = f"[{seg.meta['language']}] {text}"
    return text


def _srt(segs: list[Segment], row: dict[str, Any]) -> str:
    several = len(_languages(segs)) > 1
    cues = [f"{i}\n{_clock(s.start, ',')} --> {_clock(max(s.end, s.start + 0.001), ',')}\n{_cue_text(s, several)}\n"
            for i, s in enumerate(segs, 1)]
    return "\n".join(cues)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")


def _vtt(segs: list[Segment], row: dict[str, Any]) -> str:
    langs = _languages(segs)
    head = ["WEBVTT", "Kind: captions"] + ([f"Language: {langs[0]}"] if len(langs) == 1 else [])
    out = ["\n".join(head) + "\n", f"NOTE {_vtt_escape(_line(row['path']))}\n"]
    for s in segs:
        text = _vtt_escape(_line(s.text))
        if s.meta.get("speaker"):
            text = f"<v {_vtt_escape(_line(str(s.meta['speaker'])))}>{text}</v>"
        if len(langs) > 1 and s.meta.get("language"):
            text = f"<lang {s.meta['language']}>{text}</lang>"
        out.append(f"{_clock(s.start, '.')} --> {_clock(max(s.end, s.start + 0.001), '.')}\n{text}\n")
    return "\n".join(out)


def _txt(segs: list[Segment], row: dict[str, Any]) -> str:
    lines = []
    for s in segs:
        lang = f" ({s.meta['language']})" if s.meta.get("language") else ""
        who = f" {s.meta['speaker']}:" if s.meta.get("speaker") else ""
        lines.append(f"[{_clock(s.start, '.')} - {_clock(s.end, '.')}]{lang}{who} {_line(s.text)}")
    return "\n".join(lines) + "\n"


def _json(segs: list[Segment], row: dict[str, Any]) -> str:
    from .service_ops import segment_json

    doc = {"video_id": row["video_id"], "path": row["path"], "duration": round(float(row["duration"] or 0.0), 3),
           "languages": _languages(segs), "segments": [segment_json(s) for s in segs]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


_WRITERS: dict[str, Callable[[list["Segment"], dict[str, Any]], str]] = {
    "srt": _srt, "vtt": _vtt, "txt": _txt, "json": _json}


def render(segs: list[Segment], fmt: str, row: dict[str, Any]) -> str:
    """``segs`` (one video's records, in time order) as ``fmt``; ``row`` is the video's stored row."""
    if fmt not in _WRITERS:
        raise VragError(f"format {fmt!r}: valid: {', '.join(FORMATS)}")
    return _WRITERS[fmt](segs, row)


def export_video(kb: KnowledgeBase, video: str, fmt: str = "srt", modality: str = "speech") -> str:
    """The speech (or ``modality="ocr"``: the on-screen text) of an indexed ``video`` (id, path or file name)."""
    if fmt not in FORMATS:
        raise VragError(f"format {fmt!r}: valid: {', '.join(FORMATS)}")
    if modality not in MODALITIES:
        raise VragError(f"modality {modality!r}: valid: speech, ocr")
    row = kb.video(video)
    segs = [s for s in kb.transcript(row["video_id"], modalities=MODALITIES[modality]) if s.text.strip()]
    if not segs:
        other = "ocr" if MODALITIES[modality] == "asr" else "speech"
        raise VragError(f"{row['path']}: no {modality} records to export (try --modality {other}, or index "
                        f"it with the {MODALITIES[modality]} stage)")
    return render(segs, fmt, row)


def _link(kb: KnowledgeBase, c: dict[str, Any]) -> str:
    row = kb.store.videos.get(c["video_id"]) if c.get("video_id") else None
    path = Path(row["abs_path"] if row else c["path"]).absolute()
    return f"{path.as_uri()}#t={c['start']:g},{c['end']:g}"


def ask_markdown(result: AskResult, kb: KnowledgeBase) -> str:
    """``vrag ask --format markdown``: the answer, then each citation as a link to its moment."""
    from .retrievers.pieces import display_paths

    # each line of the answer its own paragraph: Markdown joins single newlines
    lines = ["\n\n".join(line.strip() for line in result.answer.text.splitlines() if line.strip()), ""]
    if result.citations:
        names = display_paths([c["path"] for c in result.citations])
        lines.append("**Sources**")
        lines.append("")
        for i, c in enumerate(result.citations, 1):
            label = span(names[c["path"]], c["start"], c["end"]).replace("[", "\\[").replace("]", "\\]")
            lines.append(f"{i}. [{label}]({_link(kb, c)})")
        lines.append("")
    lines.append(f"_route: {result.search.route}_")
    return "\n".join(lines) + "\n"
