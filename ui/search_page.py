"""The Search page: ask or search, the route, the answer and its sources, evidence per video."""

from __future__ import annotations

import io
import json
from typing import Any

import streamlit as st

from vrag.errors import BackendError, ConfigError, MissingDependencyError, VragError
from vrag.results import AskResult
from vrag.schema import MODALITIES
from vrag.timecode import mmss, parse

from .format import (
    badge, code, group_by_video, highlight, language_badge, md_escape, route_line, short_path, time_span, timeline_html,
)
from .media import MediaAccessError
from .speakers import speaker_filter, speaker_strip
from .widgets import (
    MODE_HELP, MODES, Context, explain, known_only, moment_of, no_kb_state, player, set_state, show_error,
)
from .widgets import clip_download

__all__ = ["search_page"]


def _filters(ctx: Context) -> tuple[dict[str, Any], list[str]]:
    """The sidebar's mode/k/filter widgets; returns (filters, problems)."""
    sb = st.sidebar
    sb.radio("Retrieval mode", MODES, key="mode", horizontal=True, help=MODE_HELP)
    st.session_state.setdefault("k", 8)
    sb.slider("Results (k)", 1, 30, key="k")
    sb.markdown("**Filters**")
    ids = sorted(ctx.videos, key=lambda v: ctx.videos[v]["path"])
    known_only(ctx, "f_videos")
    sb.multiselect("Videos", ids, key="f_videos", format_func=ctx.label, placeholder="all videos")
    sb.multiselect("Modalities", list(MODALITIES), key="f_modalities", placeholder="all modalities")
    speaker = speaker_filter(ctx)
    c1, c2 = sb.columns(2)
    c1.text_input("From (mm:ss)", key="f_from", placeholder="00:00")
    c2.text_input("To (mm:ss)", key="f_to", placeholder="end")
    filters: dict[str, Any] = {}
    problems = []
    if st.session_state.get("f_videos"):
        filters["video_id"] = [v for v in st.session_state["f_videos"] if v in ctx.videos]
    if st.session_state.get("f_modalities"):
        filters["modality"] = list(st.session_state["f_modalities"])
    if speaker:
        filters["speaker"] = speaker
    for key, name in (("f_from", "start"), ("f_to", "end")):
        value = (st.session_state.get(key) or "").strip()
        if value:
            try:
                filters[name] = parse(value)
            except ValueError as exc:
                problems.append(str(exc))
    return filters, problems


def _answers_note(kb: Any) -> None:
    if kb.config.generator == "llm":
        if not kb.config.llm_model:
            st.sidebar.warning("generator=llm but no chat model is set: set `llm_model` and `llm_base_url` "
                               "(VRAG_LLM_MODEL, VRAG_LLM_BASE_URL).")
        else:
            st.sidebar.caption(f"Answers: written by the chat model `{kb.config.llm_model}`.")
    else:
        st.sidebar.caption("Answers: quoted from the evidence (extractive). For written answers set "
                           "`generator=llm` with `llm_model` and `llm_base_url`.")


def _image_input(ctx: Context) -> Any:
    """The query-by-image uploader, only when the knowledge base has keyframe vectors."""
    if ctx.kb.store.frames.model() is None:
        return None
    upload = st.file_uploader("…or find moments that look like a picture", type=["png", "jpg", "jpeg", "webp"],
                              key="image", help="Searches the keyframes; combined with the text query if both are given.")
    if upload is None:
        return None
    import numpy as np
    from PIL import Image

    data = upload.getvalue()
    try:
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except Exception as exc:  # a file the browser called an image but PIL cannot read
        st.error(f"{upload.name}: not a readable image ({exc})")
        return None
    return upload.name, data, rgb


def _run_query(ctx: Context, action: str, query: str, mode: str, k: int, filters: dict[str, Any],
               image: Any) -> dict[str, Any] | None:
    """Run the query through the KnowledgeBase; the result (or the error) as plain data for the page."""
    kb = ctx.kb
    problem = None
    try:
        with st.spinner("Searching…" if action == "Search" else "Reading the evidence…"):
            out = None
            if action == "Ask" and query and image is None:
                try:
                    out = kb.ask(query, k=k, mode=mode, filters=filters or None)
                    search = out.search
                except (ConfigError, BackendError, MissingDependencyError) as exc:
                    problem = explain(exc)  # the answer model is not usable: still show the evidence
            if out is None:
                out = search = kb.search(query, k=k, mode=mode, filters=filters or None,
                                         image=image[2] if image is not None else None)
    except VragError as exc:
        return {"problem": explain(exc)}
    shown = search.to_json()  # the page shows (and keeps in the session) plain data
    hits = []
    for hit, obj in zip(shown["hits"], search.hits):
        meta = obj.segment.meta or {}
        hits.append(dict(hit, thumb=meta.get("thumb"), parts=len(meta.get("parts") or [])))
    view = {"kind": "ask" if isinstance(out, AskResult) else "search", "query": query,
            "image": image[0] if image is not None else None, "mode": mode, "filters": filters,
            "search": {k_: shown.get(k_) for k_ in ("route", "confidence", "escalated", "global", "weak",
                                                    "routing", "steps")},
            "hits": hits, "problem": problem}
    if isinstance(out, AskResult):
        a = out.answer
        view.update(answer=a.text, citations=a.citations, found=a.found, generator=a.generator, dropped=a.dropped)
    selection = getattr(search.retrieval, "library", None) if getattr(search, "retrieval", None) else None
    if selection is not None:
        view["library"] = _library_view(selection)
    return view


def _library_view(selection: Any) -> list[dict[str, Any]]:
    """A library answer's videos as plain data: file name, why it matched, what was asked, its moments."""
    from vrag.retrievers.library import display_name

    return [{"file": display_name(m.path), "reason": m.reason, "facts": list(m.facts),
             "moments": [dict(moment_of(h.to_json(), f"evidence for {display_name(m.path)}"), text=h.text)
                         for h in m.hits]} for m in selection.matches]


def search_page(ctx: Context) -> None:
    st.header("Ask and search")
    if not ctx.has_kb():
        no_kb_state(ctx)
        return
    filters, problems = _filters(ctx)
    _answers_note(ctx.kb)
    for p in problems:
        st.sidebar.error(p)
    top = st.columns([6, 2, 1], vertical_alignment="bottom")
    top[0].text_input("Question or search", key="query",
                      placeholder="e.g. where is the glacier explained?  (Enter to run)")
    top[1].radio("Action", ["Ask", "Search"], key="action", horizontal=True,
                 help="Ask: an answer citing video + time. Search: the matching moments only.")
    rerun = top[2].button("Run", key="run", type="primary")
    image = _image_input(ctx)

    query = (st.session_state.get("query") or "").strip()
    mode, k, action = st.session_state["mode"], int(st.session_state["k"]), st.session_state["action"]
    kb_state = [len(ctx.videos), max((str(v.get("indexed_at")) for v in ctx.videos.values()), default="")]
    request = json.dumps([action, query, mode, k, filters, image and image[0], image and len(image[1]), kb_state],
                         sort_keys=True, default=str)
    if (query or image) and (rerun or request != st.session_state.get("request")):
        st.session_state["request"] = request
        st.session_state["result"] = _run_query(ctx, action, query, mode, k, filters, image)
        st.session_state["moment"] = _first_moment(st.session_state["result"])
    view = st.session_state.get("result")
    if not (query or image) or view is None:
        if not query:
            st.caption(f"{len(ctx.videos)} indexed file(s). Type a question and press Enter.")
        return
    if view.get("problem"):
        show_error(view["problem"])
    if "hits" in view:
        _show_result(ctx, view)


def _first_moment(view: dict[str, Any] | None) -> dict[str, Any] | None:
    if not view:
        return None
    if view.get("citations"):
        return moment_of(view["citations"][0], "cited in the answer")
    return moment_of(view["hits"][0]) if view.get("hits") else None


def _show_result(ctx: Context, view: dict[str, Any]) -> None:
    st.info(route_line(view["search"]), icon=":material/route:")
    reason = (view["search"].get("routing") or {}).get("reason")
    left, right = st.columns([3, 2], gap="large")
    with right:
        st.subheader("Now playing")
        player(ctx, st.session_state.get("moment"))
    with left:
        if view["kind"] == "ask":
            _show_answer(view, ctx)
        if view.get("library"):
            _show_library(view["library"])
        if not view["hits"]:
            _no_results(view)
            return
        st.subheader(f"Evidence ({len(view['hits'])} moments)")
        if reason:
            st.caption(f"router: {md_escape(reason)}")
        for video_id, group in group_by_video(view["hits"]):
            _video_group(ctx, video_id, group, view["query"])


def _show_answer(view: dict[str, Any], ctx: Context | None = None) -> None:
    st.subheader("Answer")
    if view["found"]:
        with st.container(border=True):
            st.markdown(md_escape(view["answer"]))
    else:
        st.warning(view["answer"])
    if view["citations"]:
        st.markdown("**Sources**")
        for i, c in enumerate(view["citations"]):
            b, t, d = st.columns([1, 4, 1], vertical_alignment="center")
            b.button(f"▶ {mmss(c['start'])}", key=f"cite-{i}", on_click=set_state,
                     args=("moment", moment_of(c, "cited in the answer")), help="play this source")
            t.markdown(f"[{i + 1}] {code(c['path'])} @ {time_span(c['start'], c['end'])}")
            if ctx is not None:
                with d:
                    clip_download(ctx, c, key=f"clip-{i}")
    note = f"Answer by the {view['generator']} generator"
    if view.get("dropped"):
        note += f"; {view['dropped']} citation(s) it made could not be checked against the evidence and were dropped"
    st.caption(note + ".")


def _show_library(videos: list[dict[str, Any]]) -> None:
    """Every video a library question matched: file, why, the facts asked for, and a ▶ per moment."""
    st.markdown(f"**Videos ({len(videos)})**")
    for n, video in enumerate(videos):
        facts = f" — {md_escape(', '.join(video['facts']))}" if video["facts"] else ""
        st.markdown(f"{code(video['file'])}{facts}")
        st.caption(md_escape(video["reason"]))
        for i, moment in enumerate(video["moments"]):
            b, t = st.columns([1, 4], vertical_alignment="center")
            b.button(f"▶ {mmss(moment['start'])}", key=f"lib-{n}-{i}", on_click=set_state, args=("moment", moment),
                     help="play this evidence")
            quote = " ".join(str(moment["text"]).split())
            t.markdown(f"{md_escape(quote[:160])} @ {time_span(moment['start'], moment['end'])}")


def _no_results(view: dict[str, Any]) -> None:
    st.warning(f"No matches for “{view['query'] or view.get('image')}” (route {view['search'].get('route')}).")
    others = [m for m in MODES if m not in (view["mode"], "library")]  # library: another kind of question
    st.markdown("Try another retrieval mode" + (" or fewer filters" if view["filters"] else "") + ":")
    cols = st.columns(len(others) + (1 if view["filters"] else 0))
    for col, m in zip(cols, others):
        col.button(m, key=f"try-{m}", on_click=set_state, args=("mode", m))
    if view["filters"]:
        cols[-1].button("clear filters", key="clear-filters", on_click=_clear_filters)


def _clear_filters() -> None:
    for key, empty in (("f_videos", []), ("f_modalities", []), ("f_from", ""), ("f_to", ""), ("f_speaker", "")):
        st.session_state[key] = empty


def _video_group(ctx: Context, video_id: str, group: list[tuple[int, dict[str, Any]]], query: str) -> None:
    row = ctx.videos.get(video_id, {})
    selected = st.session_state.get("moment") or {}
    with st.container(border=True):
        path = row.get("path") or group[0][1]["path"]
        st.markdown(f"**{md_escape(short_path(path))}** · {len(group)} moment(s) · "
                    f"{mmss(row.get('duration') or 0)} long · {code(path)}")
        marks = [{"start": h["start"], "end": h["end"], "modality": h["modality"],
                  "label": f"#{rank + 1} {time_span(h['start'], h['end'])} {h['modality']}",
                  "selected": selected.get("video_id") == video_id and selected.get("start") == float(h["start"])}
                 for rank, h in group]
        st.markdown(timeline_html(row.get("duration") or 0, marks), unsafe_allow_html=True)
        speaker_strip(ctx, video_id, row.get("duration") or 0)
        thumbs = _frame_thumbs(ctx, video_id)
        for rank, hit in group:
            _hit_row(ctx, rank, hit, query, thumbs, selected)


def _frame_thumbs(ctx: Context, video_id: str) -> list[tuple[float, str]]:
    """(start, thumb) of the video's keyframes, to show a picture beside speech and text hits."""
    cache = st.session_state.setdefault("_thumbs", {})
    row = ctx.videos.get(video_id) or {}
    key = f"{ctx.db}|{video_id}|{row.get('indexed_at')}"
    if key not in cache:
        try:
            segs = ctx.kb.segments(video_id=video_id, modality="frame")
        except VragError:
            segs = []
        cache[key] = [(s.start, s.meta.get("thumb")) for s in segs if s.meta.get("thumb")]
    return cache[key]


def _thumb_for(hit: dict[str, Any], thumbs: list[tuple[float, str]]) -> str | None:
    if hit.get("thumb"):
        return hit["thumb"]
    before = [t for start, t in thumbs if start <= float(hit["start"]) + 0.5]
    return before[-1] if before else (thumbs[0][1] if thumbs else None)


def _hit_row(ctx: Context, rank: int, hit: dict[str, Any], query: str, thumbs: list[tuple[float, str]],
             selected: dict[str, Any]) -> None:
    pic, body = st.columns([2, 7], vertical_alignment="top")
    thumb = _thumb_for(hit, thumbs)
    if thumb:
        try:
            pic.image(ctx.guard.thumb(thumb), width="stretch")
        except MediaAccessError:
            pass
    is_selected = selected.get("video_id") == hit["video_id"] and selected.get("start") == float(hit["start"])
    pic.button(f"▶ {mmss(hit['start'])}", key=f"play-{rank}", on_click=set_state,
               args=("moment", moment_of(hit)), type="primary" if is_selected else "secondary",
               help=f"play from {mmss(hit['start'])}", width="stretch")
    parts = f" · {hit['parts']} merged" if hit.get("parts") else ""
    body.markdown(f"#{rank + 1} {badge(hit['modality'])}{language_badge(hit.get('language', ''))} "
                  f"**{time_span(hit['start'], hit['end'])}** · score {float(hit['score']):.2f}{parts}")
    body.markdown(highlight(hit["text"], query) or "_(no text: matched by its picture)_", unsafe_allow_html=True)
    body.caption(f"why: {md_escape(hit['why'])}")
