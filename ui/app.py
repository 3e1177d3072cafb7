"""The vrag Streamlit app: ``vrag ui`` runs it (or ``streamlit run ui/app.py -- --db DIR``).

The knowledge base comes from ``--db DIR`` after ``--``, else ``VRAG_DB`` / ``vrag.toml`` / the default,
like every other vrag command; ``--config FILE`` and ``--set NAME=VALUE`` work as in the CLI.
"""

from __future__ import annotations

import json
import os
import sys

import streamlit as st

from vrag.config import SETTINGS, Config
from vrag.config_args import config_from_args, parse_common
from vrag.errors import VragError
from vrag.kb import KnowledgeBase
from vrag.kb_files import is_remote
from vrag.ui.graph_page import graph_page
from vrag.ui.index_page import index_page
from vrag.ui.jobs import JobBoard
from vrag.ui.search_page import search_page
from vrag.ui.widgets import KEEP, Context, job_progress, show_error

PAGES = {"Search": search_page, "Graph": graph_page, "Index": index_page}


@st.cache_resource(show_spinner="Opening the knowledge base…")
def knowledge_base(settings: str, _config: Config) -> KnowledgeBase:
    """One KnowledgeBase per process and settings (the JSON of every setting is the cache key):
    models load once and are shared by every session."""
    return KnowledgeBase(config=_config)


@st.cache_resource
def job_board(db: str) -> JobBoard:
    """The index jobs of one knowledge base, shared by every browser tab."""
    return JobBoard()


def main() -> None:
    st.set_page_config(page_title="vrag", page_icon=":material/movie:", layout="wide")
    try:
        cfg = config_from_args(parse_common(sys.argv[1:], prog="vrag ui"))
        settings = json.dumps({s.name: cfg[s.name] for s in SETTINGS}, sort_keys=True, default=str)
        where = str(cfg.db) if is_remote(str(cfg.db)) else os.path.abspath(str(cfg.db))
        kb = knowledge_base(where + settings, cfg)
    except VragError as exc:
        st.title("vrag")
        show_error(exc)
        st.stop()
    board = job_board(kb.store.uri if kb.store.remote else str(kb.store.path.resolve()))
    for key in KEEP:  # keep the query, mode and filters when the user visits another page and comes back
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.sidebar.title(":material/movie: vrag")
    st.sidebar.caption(f"knowledge base: `{kb.store.uri}`")
    page = st.sidebar.radio("Page", list(PAGES), key="page", horizontal=True, label_visibility="collapsed")
    if page != "Index":
        job_progress(board, sidebar=True)
    try:
        ctx = Context.load(kb, board)
    except VragError as exc:
        show_error(exc)
        st.stop()
    PAGES[page](ctx)


if __name__ == "__main__":
    main()
