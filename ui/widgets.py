"""Pieces every page uses: the page context, error and empty states, the player, job progress.

Layout and formatting only; every answer, hit, route and count comes from :class:`vrag.KnowledgeBase`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from vrag.errors import BackendError, ConfigError, MissingDependencyError, VragError

from vrag.timecode import mmss

from .format import badge, code, md_escape, short_path, time_span
from .jobs import JobBoard
from .media import MediaAccessError, MediaGuard, is_audio

#: Widget values kept while another page is shown (Streamlit drops the state of widgets it did not draw).
KEEP = ("query", "action", "mode", "k", "f_videos", "f_modalities", "f_from", "f_to", "entity", "add_path", "prune")

__all__ = ["KEEP", "MODES", "MODE_HELP", "Context", "explain", "show_error", "no_kb_state", "known_only", "set_state",
           "moment_of", "player", "job_progress", "clip_download"]

MODES = ("auto", "naive", "hybrid", "graph", "library")
MODE_HELP = ("auto: the router picks naive, hybrid or graph and escalates when the evidence is weak; "
              "questions about the collection go to library. "
              "naive: vector search. hybrid: vectors + keywords + neighbouring context. "
              "graph: follow the entities of the question through the knowledge graph. "
              "library: every video that matches (\"which clips have music?\"), each with its evidence.")
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
        rows = kb.store.videos.all() if kb.store.exists() else []
        videos = {r["video_id"]: r for r in rows}
        guard = MediaGuard([r["abs_path"] for r in rows], kb.store.path, board.roots, kb.store.files)
        return cls(kb, board, videos, guard)

    @property
    def db(self) -> str:
        return self.kb.store.uri

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
    st.button("Go to the Index page", key="goto_index", on_click=set_state, args=("page", "Index"))


def known_only(ctx: Context, key: str) -> None:
    """Drop video ids that are no longer indexed from a kept selection (removed meanwhile, maybe in another tab)."""
    if st.session_state.get(key):
        st.session_state[key] = [v for v in st.session_state[key] if v in ctx.videos]


def set_state(key: str, value: Any) -> None:
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


def clip_download(ctx: Context, cited: dict[str, Any], key: str) -> None:
    """A "download clip" button for one cited span: the clip is cut (vrag.clip: ffmpeg, a stream copy when
    the span starts on a keyframe) only when the button is pressed."""
    import os
    from pathlib import Path

    row = ctx.videos.get(cited["video_id"])
    try:
        real = ctx.guard.media(row["abs_path"]) if row else None
    except MediaAccessError:
        real = None
    if real is None:
        return
    audio = is_audio(real) or not row.get("has_video", True)
    start, end = float(cited["start"]), max(float(cited["end"]), float(cited["start"]) + 1.0)
    name = f"{Path(real).stem} {mmss(start)}-{mmss(end)}".replace(":", ".") + (".m4a" if audio else ".mp4")

    def cut_clip() -> bytes:
        import tempfile

        from vrag.clip import cut

        with tempfile.TemporaryDirectory(prefix="vrag-clip-") as tmp:
            out = os.path.join(tmp, name)
            cut(real, start, end, out)
            return Path(out).read_bytes()

    st.download_button("⬇ clip", data=cut_clip, file_name=name, mime="audio/mp4" if audio else "video/mp4",
                       key=key, on_click="ignore", help=f"download {time_span(start, end)} as {name}")
