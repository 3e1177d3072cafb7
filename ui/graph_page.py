"""The Graph page: an entity, its neighbours and the moments where it appears."""

from __future__ import annotations

from typing import Any

import streamlit as st

from vrag.errors import VragError
from vrag.timecode import mmss

from .format import badge, code, md_escape, time_span
from .widgets import Context, moment_of, no_kb_state, player, set_state, show_error

__all__ = ["graph_page"]


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
            b.button(f"▶ {mmss(a['start'])}", key=f"appear-{i}", on_click=set_state,
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
