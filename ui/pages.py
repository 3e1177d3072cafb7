"""The UI's pages: Search (ask + search), Graph, Index. Layout and formatting only; every answer,
hit, route and count comes from :class:`vrag.KnowledgeBase`."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import streamlit as st

from vrag.errors import BackendError, ConfigError, MissingDependencyError, VragError
from vrag.schema import MODALITIES
from vrag.timecode import mmss, parse

from .format import (badge, code, counts_line, group_by_video, highlight, md_escape, route_line, short_path,
                     time_span, timeline_html)
from .jobs import JobBoard
from .media import MediaAccessError, MediaGuard, is_audio

#: Widget values kept while another page is shown (Streamlit drops the state of widgets it did not draw).
KEEP = ("query", "action", "mode", "k", "f_videos", "f_modalities", "f_from", "f_to", "entity", "add_path", "prune")

__all__ = ["KEEP", "Context", "search_page", "graph_page", "index_page", "job_progress"]

MODES = ("auto", "naive", "hybrid", "graph")
_MODE_HELP = ("auto: the router picks naive, hybrid or graph and escalates when the evidence is weak. "
              "naive: vector search. hybrid: vectors + keywords + neighbouring context. "
              "graph: follow the entities of the question through the knowledge graph.")
_SETTINGS_HINT = ("Settings come from `vrag.toml`, `VRAG_*` environment variables or `vrag ui --set NAME=VALUE`; "
                  "`vrag config` lists them all. Restart `vrag ui` after changing them.")


@dataclass
class Context:
    """What every page needs for one run of the script."""

    kb: Any
    board: JobBoard
    videos: dict[str, dict[str, Any]]  # video_id -> videos-table row (with abs_path)
    guard: MediaGuard

    @classmethod
    def load(cls, kb: Any, board: JobBoard) -> "Context":
        rows = kb.store.videos() if kb.store.exists() else []
        videos = {r["video_id"]: r for r in rows}
        guard = MediaGuard([r["abs_path"] for r in rows], kb.store.path, board.roots)
        return cls(kb, board, videos, guard)

    @property
    def db(self) -> str:
        return str(self.kb.store.path)

    def has_kb(self) -> bool:
        return self.kb.store.exists() and bool(self.videos)

    def label(self, video_id: str) -> str:
        row = self.videos.get(video_id)
        return short_path(row["path"]) if row else video_id[:12]


# -- shared pieces ------------------------------------------------------------------------
def explain(exc: VragError) -> dict[str, str]:
    """``{"error", "hint"}``: the error in one line, and what to install or set when that is the cause."""
    hint = ""
    if isinstance(exc, MissingDependencyError):
        hint = (f"Install it into the environment that runs `vrag ui`, then restart the UI: "
                f"`pip install 'vrag[{exc.extra}]'`")
    elif isinstance(exc, (ConfigError, BackendError)):
        hint = _SETTINGS_HINT
    return {"error": " ".join(str(exc).split()), "hint": hint}


def show_error(exc: VragError | dict[str, str]) -> None:
    """A vrag error as the user should see it, with what to set when it is about configuration."""
    problem = explain(exc) if isinstance(exc, VragError) else exc
    st.error(problem["error"])
    if problem.get("hint"):
        st.info(problem["hint"])


def no_kb_state(ctx: Context) -> None:
    st.info(
        f"**No knowledge base at `{ctx.db}` yet.**\n\n"
        "Add a folder of videos on the **Index** page, or from a terminal:\n\n"
        f"```\nvrag index VIDEOS_FOLDER --db {ctx.db}\n```\n"
        "then come back here to ask questions and search."
    )
    st.button("Go to the Index page", key="goto_index", on_click=_set_state, args=("page", "Index"))


def _known_only(ctx: Context, key: str) -> None:
    """Drop video ids that are no longer indexed from a kept selection (removed meanwhile, maybe in another tab)."""
    if st.session_state.get(key):
        st.session_state[key] = [v for v in st.session_state[key] if v in ctx.videos]


def _set_state(key: str, value: Any) -> None:
    st.session_state[key] = value


def moment_of(hit: dict[str, Any], why: str = "") -> dict[str, Any]:
    return {"video_id": hit["video_id"], "start": float(hit["start"]), "end": float(hit["end"]),
            "modality": hit.get("modality", ""), "why": why or hit.get("why", "")}


def player(ctx: Context, moment: dict[str, Any] | None) -> None:
    """The video (or audio) of ``moment`` starting at its start time, after the path check."""
    if not moment:
        st.caption("Pick a moment (▶) to play it here.")
        return
    row = ctx.videos.get(moment["video_id"])
    if row is None:
        st.warning("That video is no longer in the knowledge base.")
        return
    st.markdown(f"**{md_escape(short_path(row['path']))}** @ {time_span(moment['start'], moment['end'])}")
    try:
        real = ctx.guard.media(row["abs_path"])
    except MediaAccessError as exc:
        st.error(str(exc))
        return
    start = int(moment["start"])  # Streamlit seeks to whole seconds
    if is_audio(real) or not row.get("has_video", True):
        st.audio(real, start_time=start)
    else:
        st.video(real, start_time=start)
    extra = [badge(moment["modality"])] if moment.get("modality") else []
    if moment.get("why"):
        extra.append(f"why: {md_escape(moment['why'])}")
    st.caption(" · ".join(extra + [f"{code(row['path'])}"]))


def job_progress(board: JobBoard, sidebar: bool = False) -> None:
    """A progress bar that refreshes itself every second while a job runs (the rest of the page stays usable)."""
    if not board.busy():
        return

    @st.fragment(run_every=1.0)
    def _poll() -> None:
        job = board.current
        if job is None or not job.running:
            st.rerun(scope="app")  # the job ended: refresh the whole page (counts, lists)
            return
        st.progress(job.fraction(), text=job.describe())

    if sidebar:
        with st.sidebar:
            _poll()
    else:
        _poll()


# -- search -------------------------------------------------------------------------------
def _filters(ctx: Context) -> tuple[dict[str, Any], list[str]]:
    """The sidebar's mode/k/filter widgets; returns (filters, problems)."""
    sb = st.sidebar
    sb.radio("Retrieval mode", MODES, key="mode", horizontal=True, help=_MODE_HELP)
    st.session_state.setdefault("k", 8)
    sb.slider("Results (k)", 1, 30, key="k")
    sb.markdown("**Filters**")
    ids = sorted(ctx.videos, key=lambda v: ctx.videos[v]["path"])
    _known_only(ctx, "f_videos")
    sb.multiselect("Videos", ids, key="f_videos", format_func=ctx.label, placeholder="all videos")
    sb.multiselect("Modalities", list(MODALITIES), key="f_modalities", placeholder="all modalities")
    c1, c2 = sb.columns(2)
    c1.text_input("From (mm:ss)", key="f_from", placeholder="00:00")
    c2.text_input("To (mm:ss)", key="f_to", placeholder="end")
    filters: dict[str, Any] = {}
    problems = []
    if st.session_state.get("f_videos"):
        filters["video_id"] = [v for v in st.session_state["f_videos"] if v in ctx.videos]
    if st.session_state.get("f_modalities"):
        filters["modality"] = list(st.session_state["f_modalities"])
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
    if ctx.kb.store.model_of("frames") is None:
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
    hits = []
    for hit, obj in zip(search["hits"], search.hit_objects):
        meta = obj.segment.meta or {}
        hits.append(dict(hit, thumb=meta.get("thumb"), parts=len(meta.get("parts") or [])))
    view = {"kind": "ask" if isinstance(out, dict) and "answer" in out else "search", "query": query,
            "image": image[0] if image is not None else None, "mode": mode, "filters": filters,
            "search": {k_: search.get(k_) for k_ in ("route", "confidence", "escalated", "global", "weak",
                                                     "routing", "steps")},
            "hits": hits, "problem": problem}
    if view["kind"] == "ask":
        view.update(answer=out["answer"], citations=out["citations"], found=out["found"],
                    generator=out["generator"], dropped=out["dropped_citations"])
    return view


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
            _show_answer(view)
        if not view["hits"]:
            _no_results(view)
            return
        st.subheader(f"Evidence ({len(view['hits'])} moments)")
        if reason:
            st.caption(f"router: {md_escape(reason)}")
        for video_id, group in group_by_video(view["hits"]):
            _video_group(ctx, video_id, group, view["query"])


def _show_answer(view: dict[str, Any]) -> None:
    st.subheader("Answer")
    if view["found"]:
        with st.container(border=True):
            st.markdown(md_escape(view["answer"]))
    else:
        st.warning(view["answer"])
    if view["citations"]:
        st.markdown("**Sources**")
        for i, c in enumerate(view["citations"]):
            b, t = st.columns([1, 4], vertical_alignment="center")
            b.button(f"▶ {mmss(c['start'])}", key=f"cite-{i}", on_click=_set_state,
                     args=("moment", moment_of(c, "cited in the answer")), help="play this source")
            t.markdown(f"[{i + 1}] {code(c['path'])} @ {time_span(c['start'], c['end'])}")
    note = f"Answer by the {view['generator']} generator"
    if view.get("dropped"):
        note += f"; {view['dropped']} citation(s) it made could not be checked against the evidence and were dropped"
    st.caption(note + ".")


def _no_results(view: dict[str, Any]) -> None:
    st.warning(f"No matches for “{view['query'] or view.get('image')}” (route {view['search'].get('route')}).")
    others = [m for m in MODES if m != view["mode"]]
    st.markdown("Try another retrieval mode" + (" or fewer filters" if view["filters"] else "") + ":")
    cols = st.columns(len(others) + (1 if view["filters"] else 0))
    for col, m in zip(cols, others):
        col.button(m, key=f"try-{m}", on_click=_set_state, args=("mode", m))
    if view["filters"]:
        cols[-1].button("clear filters", key="clear-filters", on_click=_clear_filters)


def _clear_filters() -> None:
    for key, empty in (("f_videos", []), ("f_modalities", []), ("f_from", ""), ("f_to", "")):
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
    pic.button(f"▶ {mmss(hit['start'])}", key=f"play-{rank}", on_click=_set_state,
               args=("moment", moment_of(hit)), type="primary" if is_selected else "secondary",
               help=f"play from {mmss(hit['start'])}", width="stretch")
    parts = f" · {hit['parts']} merged" if hit.get("parts") else ""
    body.markdown(f"#{rank + 1} {badge(hit['modality'])} **{time_span(hit['start'], hit['end'])}** · "
                  f"score {float(hit['score']):.2f}{parts}")
    body.markdown(highlight(hit["text"], query) or "_(no text: matched by its picture)_", unsafe_allow_html=True)
    body.caption(f"why: {md_escape(hit['why'])}")


# -- graph --------------------------------------------------------------------------------
def graph_page(ctx: Context) -> None:
    st.header("Knowledge graph")
    if not ctx.has_kb():
        no_kb_state(ctx)
        return
    from vrag.graph_store import to_networkx

    try:
        graph = to_networkx(ctx.kb.store)
    except VragError as exc:
        show_error(exc)
        return
    nodes = [d for _, d in graph.nodes(data=True)]
    if not nodes:
        st.info("No entities yet. The graph is built by the `graph` indexing stage (spaCy, `pip install 'vrag[graph]'`): "
                "check that `stages` includes `graph` (`vrag config`), then re-index on the **Index** page.")
        return
    nodes.sort(key=lambda d: (-len(d.get("provenance") or []), d["name"].lower()))
    names = [d["name"] for d in nodes]
    if st.session_state.get("entity") not in names:
        st.session_state["entity"] = names[0]
    types = {d["name"]: d["type"] for d in nodes}
    st.selectbox("Entity", names, key="entity", help="type to search; sorted by how often they appear",
                 format_func=lambda n: f"{n}  ({types.get(n, '?')})")
    found = ctx.kb.graph_entity(st.session_state["entity"])
    if found is None:
        st.warning(f"No entity named {st.session_state['entity']!r} any more (the graph changed); pick another.")
        return
    aliases = f" — also: {', '.join(found['aliases'])}" if found["aliases"] else ""
    st.markdown(f"### {md_escape(found['name'])} {badge(found['type'])}\n{md_escape(aliases)}")
    if found.get("description"):
        st.caption(md_escape(found["description"]))
    st.caption(f"in {len(found['videos'])} video(s), {len(found['appearances'])} moment(s), "
               f"{len(found['neighbours'])} relation(s)")
    left, right = st.columns([3, 2], gap="large")
    with left:
        if found["neighbours"]:
            st.graphviz_chart(_dot(found), width="stretch")
            st.markdown("**Neighbours**")
            st.dataframe(
                [{"entity": n["entity"], "relation": n["type"], "direction": "→" if n["direction"] == "out" else "←",
                  "weight": n["weight"]} for n in found["neighbours"]],
                hide_index=True, width="stretch",
            )
            others = list(dict.fromkeys(n["entity"] for n in found["neighbours"] if n["entity"] in names))
            if others:
                go = st.columns([3, 1], vertical_alignment="bottom")
                go[0].selectbox("Explore a neighbour", others, key="neighbour")
                go[1].button("Go", key="go-neighbour", on_click=_go_neighbour)
        else:
            st.caption("No relations to other entities.")
        st.markdown("**Where it appears**")
        for i, a in enumerate(found["appearances"]):
            b, t = st.columns([1, 5], vertical_alignment="center")
            b.button(f"▶ {mmss(a['start'])}", key=f"appear-{i}", on_click=_set_state,
                     args=("graph_moment", moment_of(a, f"mentions {found['name']}")))
            t.markdown(f"{code(a.get('path') or ctx.label(a['video_id']))} @ {time_span(a['start'], a['end'])}")
    with right:
        st.subheader("Moment")
        moment = st.session_state.get("graph_moment")
        if moment is None and found["appearances"]:
            moment = moment_of(found["appearances"][0], f"mentions {found['name']}")
        player(ctx, moment)


def _go_neighbour() -> None:
    st.session_state["entity"] = st.session_state["neighbour"]
    st.session_state.pop("graph_moment", None)


def _dot(found: dict[str, Any], limit: int = 15) -> str:
    """DOT source: the entity in the middle, its strongest relations around it."""
    def q(text: str) -> str:
        return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph G {", "rankdir=LR;", 'node [shape=box, style="rounded,filled", fillcolor="#f0f2f6", '
             'fontname="sans-serif", fontsize=11];', 'edge [fontname="sans-serif", fontsize=9, color="#888888"];',
             f'{q(found["name"])} [fillcolor="#ffd8a8", penwidth=2];']
    for n in found["neighbours"][:limit]:
        pair = (q(found["name"]), q(n["entity"])) if n["direction"] == "out" else (q(n["entity"]), q(found["name"]))
        style = ', style=dashed' if n["type"] == "co_occurs" else ""
        lines.append(f'{pair[0]} -> {pair[1]} [label={q(n["type"])}{style}];')
    lines.append("}")
    return "\n".join(lines)


# -- index --------------------------------------------------------------------------------
def index_page(ctx: Context) -> None:
    st.header("Index")
    board = ctx.board
    job = board.current
    if job is not None and job.running:
        job_progress(board)
        st.caption("Search and the graph stay usable while this runs; the lists below refresh when it ends.")
    elif job is not None:
        failed = job.state == "failed" or any(r.status in ("failed", "partial") for r in job.results)
        (st.error if job.state == "failed" else st.warning if failed else st.success)(job.describe())
        if job.results:
            with st.expander("Last run, file by file", expanded=failed):
                st.dataframe([{"file": r.path, "status": r.status, "reason": r.reason,
                               "seconds": round(r.seconds, 1)} for r in job.results], hide_index=True, width="stretch")

    with st.container(border=True):
        st.markdown("**Add a folder or file**")
        c = st.columns([6, 2, 1], vertical_alignment="bottom")
        c[0].text_input("Path on this machine", key="add_path", placeholder="/home/me/videos")
        c[1].checkbox("forget deleted files", key="prune", help="also remove indexed files under this folder "
                      "that no longer exist")
        c[2].button("Index", key="index_btn", type="primary", disabled=board.busy(), on_click=_start_add, args=(ctx,))
        if st.session_state.get("job_error"):
            st.error(st.session_state["job_error"])

    if not ctx.has_kb():
        st.info(f"Nothing indexed in `{ctx.db}` yet. Give a folder above: every video and audio file under it "
                "is indexed (speech, on-screen text, keyframes, entities), and the knowledge base is created.")
        return
    _video_table(ctx)
    _manage(ctx)


def _start(ctx: Context, kind: str, paths: list[str], prune: bool = False) -> None:
    """Button callback: start a background job (runs before the page is drawn, so it shows at once)."""
    try:
        ctx.board.start(ctx.kb, kind, paths, prune=prune)
        st.session_state.pop("job_error", None)
    except VragError as exc:
        st.session_state["job_error"] = " ".join(str(exc).split())


def _start_add(ctx: Context) -> None:
    _start(ctx, "index", [st.session_state.get("add_path") or ""], prune=bool(st.session_state.get("prune")))


def _start_chosen(ctx: Context, kind: str) -> None:
    chosen = [ctx.videos[v]["abs_path"] for v in st.session_state.get("manage_videos") or [] if v in ctx.videos]
    if kind == "remove":
        st.session_state["manage_videos"] = []
    _start(ctx, kind, chosen)


def _video_table(ctx: Context) -> None:
    status = ctx.kb.status()["videos"]
    total: dict[str, int] = {}
    for v in status:
        for name, n in v["counts"].items():
            total[name] = total.get(name, 0) + n
    st.subheader(f"{len(status)} file(s) indexed")
    st.caption(f"{code(ctx.db)} · records: {counts_line(total)}")
    st.dataframe(
        [{"file": short_path(v["path"]), "status": v["status"], "duration": mmss(v["duration"]),
          "kind": "video" if v["has_video"] else "audio" if v["has_audio"] else "?", "records": counts_line(v["counts"]),
          "problems": len(v["errors"]) + len(v["warnings"]), "indexed at": (v["indexed_at"] or "")[:19],
          "path": v["path"]} for v in status],
        hide_index=True, width="stretch",
    )
    bad = [v for v in status if v["errors"] or v["warnings"] or v["status"] in ("failed", "partial")]
    if bad:
        st.markdown("**Failures and warnings**")
        for v in bad:
            lines = [f"- error: {md_escape(e)}" for e in v["errors"]] + [f"- warning: {md_escape(w)}" for w in v["warnings"]]
            (st.error if v["errors"] or v["status"] == "failed" else st.warning)(
                f"{code(v['path'])} — {v['status']}\n" + "\n".join(lines or ["- (no reason recorded)"]))
    models: dict[str, set[str]] = {}
    for v in status:
        for stage, model in (v["models"] or {}).items():
            models.setdefault(stage, set()).add(model)
    if models:
        with st.expander("Models"):
            st.dataframe([{"stage": s, "model": ", ".join(sorted(m))} for s, m in sorted(models.items())],
                         hide_index=True, width="stretch")


def _manage(ctx: Context) -> None:
    st.markdown("**Re-index or remove**")
    ids = sorted(ctx.videos, key=lambda v: ctx.videos[v]["path"])
    _known_only(ctx, "manage_videos")
    c = st.columns([6, 1.4, 1.4], vertical_alignment="bottom")
    c[0].multiselect("Files", ids, key="manage_videos", format_func=ctx.label, placeholder="choose files")
    none = not st.session_state.get("manage_videos")
    busy = ctx.board.busy()
    c[1].button("Re-index", key="reindex_btn", disabled=busy or none, on_click=_start_chosen, args=(ctx, "index"),
                help="re-runs the stages whose settings or models changed, and failed ones; unchanged files are skipped")
    c[2].button("Remove", key="remove_btn", disabled=busy or none, on_click=_start_chosen, args=(ctx, "remove"),
                help="deletes their records from the knowledge base (the files stay on disk)")
