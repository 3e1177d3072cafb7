"""The Index page: what is indexed, and add / re-index / remove in the background."""

from __future__ import annotations

import streamlit as st

from vrag.errors import VragError
from vrag.timecode import mmss

from .format import code, counts_line, md_escape, short_path
from .widgets import Context, job_progress, known_only

__all__ = ["index_page"]


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
    known_only(ctx, "manage_videos")
    c = st.columns([6, 1.4, 1.4], vertical_alignment="bottom")
    c[0].multiselect("Files", ids, key="manage_videos", format_func=ctx.label, placeholder="choose files")
    none = not st.session_state.get("manage_videos")
    busy = ctx.board.busy()
    c[1].button("Re-index", key="reindex_btn", disabled=busy or none, on_click=_start_chosen, args=(ctx, "index"),
                help="re-runs the stages whose settings or models changed, and failed ones; unchanged files are skipped")
    c[2].button("Remove", key="remove_btn", disabled=busy or none, on_click=_start_chosen, args=(ctx, "remove"),
                help="deletes their records from the knowledge base (the files stay on disk)")
