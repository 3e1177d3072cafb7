"""The ``vrag`` command line. Errors print one line and exit non-zero (VRAG_DEBUG=1 for the traceback)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Sequence

from .config import SETTINGS
from .config_args import common_parser, config_from_args
from .cli_services import COMMANDS as SERVICE_COMMANDS, add_parsers as add_service_parsers
from .errors import VragError
from .timecode import mmss, span

if TYPE_CHECKING:
    from .results import SearchResult

_EPILOG = "Settings come from vrag.toml, VRAG_* environment variables or --set NAME=VALUE; `vrag config` lists them."


def _parser() -> argparse.ArgumentParser:
    common = common_parser()
    p = argparse.ArgumentParser(prog="vrag", description="Local-first video knowledge base.", epilog=_EPILOG)
    p.add_argument("--version", action="version", version=f"vrag {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ix = sub.add_parser("index", parents=[common], help="index video/audio files and folders", epilog=_EPILOG)
    ix.add_argument("paths", nargs="+", metavar="PATH")
    ix.add_argument("--prune", action="store_true", help="also remove indexed files under PATH that no longer exist")
    ix.add_argument("--only", metavar="STAGES", help="comma list of stages to run: " + ",".join(_stages()))
    ix.add_argument("--force-asr", action="store_true", help="run speech recognition even when subtitles exist")
    ix.add_argument("--engine", metavar="local|ray|module:Class", help="run the indexers here (local, default), "
                    "on a Ray cluster (ray; needs `pip install 'vrag[ray]'`), or with a registered engine class")
    ix.add_argument("--address", metavar="auto|ray://HOST:PORT",
                    help="with --engine ray: the cluster to join (default: start a local one)")
    ix.add_argument("--workers", type=int, metavar="N", help="with --engine ray: indexing actors (default 2)")
    ix.add_argument("--gpus", type=float, metavar="N", help="with --engine ray: GPUs shared by the actors")
    ix.add_argument("--json", action="store_true", help="print the summary as JSON")
    ix.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    ix.add_argument("--estimate", action="store_true",
                    help="only print the expected indexing time per file (no model loads, nothing written)")

    st = sub.add_parser("status", parents=[common], help="what is indexed")
    st.add_argument("--json", action="store_true", help="machine-readable output (stable contract)")

    rm = sub.add_parser("remove", parents=[common], help="delete videos (files or folders) from the knowledge base")
    rm.add_argument("paths", nargs="+", metavar="PATH")

    retrieval = argparse.ArgumentParser(add_help=False)
    retrieval.add_argument("--mode", default="auto", choices=["auto", "naive", "hybrid", "graph", "library"],
                           help="retrieval level; auto lets the router choose and escalate (default); "
                                "library: questions about the collection (every matching video)")
    retrieval.add_argument("--video", action="append", metavar="PATH|ID",
                           help="only this video (indexed path, file name or video id; repeatable)")
    retrieval.add_argument("--modality", action="append", metavar="NAME",
                           help="only these records: asr, ocr, caption, audio_event, shot, window, chapter (repeatable)")
    retrieval.add_argument("--from", dest="start", metavar="TIME", help="only evidence after this time (s or mm:ss)")
    retrieval.add_argument("--to", dest="end", metavar="TIME", help="only evidence before this time (s or mm:ss)")
    retrieval.add_argument("--json", action="store_true", help="machine-readable output (stable contract)")
    retrieval.add_argument("--speaker", metavar="NAME", help='only what this speaker says (a name, or a label such as '
                           'S2; see `vrag speakers list`)')

    se = sub.add_parser("search", parents=[common, retrieval], help="find the moments that match a query")
    se.add_argument("query", nargs="?", default="", help="what to look for (optional with --image)")
    se.add_argument("--image", metavar="FILE", help="find the moments that look like this picture")
    se.add_argument("-k", type=int, default=10, help="number of hits (default 10)")

    ask = sub.add_parser("ask", parents=[common, retrieval], help="answer a question, citing video and time span")
    ask.add_argument("question")
    ask.add_argument("-k", type=int, default=8, help="pieces of evidence to read (default 8)")
    ask.add_argument("--format", default="text", choices=["text", "markdown"],
                     help="markdown: the answer with each citation as a link to its moment (file URI #t=START,END)")

    re = sub.add_parser("reembed", parents=[common], help="re-embed stored vectors after a model change")
    re.add_argument("--force", action="store_true", help="re-embed even where the model has not changed")

    gr = sub.add_parser("graph", parents=[common], help="the knowledge graph: entities, relations, where they appear")
    gsub = gr.add_subparsers(dest="graph_command", required=True, metavar="ACTION")
    show = gsub.add_parser("show", parents=[common], help="an entity, its aliases, neighbours and appearances")
    show.add_argument("entity")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    glist = gsub.add_parser("list", parents=[common], help="the entities, most appearances first")
    glist.add_argument("--type", metavar="TYPE", help="only this entity type (PERSON, ORG, GPE, ...)")
    glist.add_argument("--json", action="store_true", help="machine-readable output")
    export = gsub.add_parser("export", parents=[common], help="write the graph as GraphML or node-link JSON")
    export.add_argument("out", metavar="FILE")
    export.add_argument("--format", choices=["graphml", "json"], default="graphml")

    sub.add_parser("config", parents=[common], help="show every setting, its value and where it came from")
    from .cli_eval import add_parser as add_eval_parser
    from .cli_ui import add_parser as add_ui_parser

    add_eval_parser(sub, common)
    add_ui_parser(sub, common)
    add_service_parsers(sub, common)  # mcp, serve, export, clip, watch
    from .cli_speakers import add_parser as add_speakers_parser

    add_speakers_parser(sub, common)
    return p


def _stages() -> tuple[str, ...]:
    from .config import STAGES

    return STAGES


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # the CLI owns the terminal: model libraries' own download/loading bars stay quiet
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("vrag: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `vrag ... | head` closed the pipe: stop quietly, like other Unix tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except VragError as exc:
        if os.environ.get("VRAG_DEBUG"):
            raise
        print(f"vrag: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except Exception as exc:
        if os.environ.get("VRAG_DEBUG"):
            raise
        print(f"vrag: internal error: {type(exc).__name__}: {exc} (set VRAG_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


def _cmd_index(args: argparse.Namespace) -> int:
    from .cli_progress import IndexProgress, print_summary
    from .kb import KnowledgeBase

    if args.estimate:
        from .cli_progress import print_estimate

        return print_estimate(KnowledgeBase(config=config_from_args(args)).estimate(args.paths), args.json)
    kb = KnowledgeBase(config=config_from_args(args))
    with IndexProgress(enabled=not (args.quiet or args.json)) as bar:
        report = kb.index(args.paths, progress=bar.update, prune=args.prune)
    if args.json:
        print(json.dumps({"db": kb.store.uri, "files": [vars(r) for r in report.results]}, indent=2))
    else:
        print_summary(report)
    return 0 if report.ok else 1


def _cmd_status(args: argparse.Namespace) -> int:
    from .kb import KnowledgeBase

    kb = KnowledgeBase(config=config_from_args(args))
    status = kb.status()
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    from .cli_progress import print_status

    print_status(status)
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    from .kb import KnowledgeBase

    kb = KnowledgeBase(config=config_from_args(args))
    results = kb.remove(args.paths)
    kb.store.finish_writes()
    for r in results:
        print(f"{r.status}: {r.path}" + (f" ({r.reason})" if r.reason else ""))
    return 0 if all(r.status == "removed" for r in results) else 1


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    from .timecode import parse

    filters: dict[str, Any] = {}
    if args.video:
        filters["video_id"] = args.video
    if args.modality:
        filters["modality"] = args.modality
    if getattr(args, "speaker", None):
        filters["speaker"] = args.speaker
    for name in ("start", "end"):
        value = getattr(args, name)
        if value is not None:
            try:
                filters[name] = parse(value)
            except ValueError as exc:
                raise VragError(f"--{'from' if name == 'start' else 'to'}: {exc}") from None
    from .retrievers.naive import record_filter

    record_filter(filters)  # unknown modalities, --from after --to: one line, before any model loads
    return filters


def _cmd_search(args: argparse.Namespace) -> int:
    from .kb import KnowledgeBase

    if not args.query and not args.image:
        raise VragError("give a query, or --image FILE")
    filters = _filters(args)
    kb = KnowledgeBase(config=config_from_args(args))
    result = kb.search(args.query, k=args.k, mode=args.mode, image=args.image, filters=filters)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return 0
    print(_route_line(result))
    if not result.hits:
        print("no matches")
    hits = result.to_json()["hits"]  # the rounded start/end/score of the contract
    names = _display([h["path"] for h in hits])
    for hit in hits:
        text = " ".join(hit["text"].split())
        text = text if len(text) <= 100 else text[:97] + "..."
        lang = f" {hit['language']}" if hit.get("language", "en") not in ("", "en") else ""  # non-English speech
        print(f"{span(names[hit['path']], hit['start'], hit['end'])}  [{hit['modality']}{lang} {hit['score']:.2f}]  {text}")
        print(f"    why: {hit['why']}")
    return 0


def _display(paths: list[str]) -> dict[str, str]:
    """Paths as people read them: file names (with a folder where two names clash), not absolute paths."""
    from .retrievers.pieces import display_paths

    return display_paths(paths)


def _route_line(result: SearchResult) -> str:
    line = f"route: {result.route} (confidence {result.confidence:.2f}"
    if result.global_:
        line += ", global"
    if result.escalated:
        tried = " -> ".join(f"{s['level']}" + (f" [{s['weak']}]" if s["weak"] else "") for s in result.steps)
        line += f", escalated: {tried}"
    return line + ")"


def _cmd_ask(args: argparse.Namespace) -> int:
    from .kb import KnowledgeBase

    filters = _filters(args)
    kb = KnowledgeBase(config=config_from_args(args))
    result = kb.ask(args.question, k=args.k, mode=args.mode, filters=filters)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return 0
    if args.format == "markdown":
        from .export import ask_markdown

        print(ask_markdown(result, kb), end="")
        return 0
    print(result.answer.text)
    if result.citations:
        print("\nsources:")
        names = _display([c["path"] for c in result.citations])
        for c in result.citations:
            print(f"  {span(names[c['path']], c['start'], c['end'])}")
    print(f"\n{_route_line(result.search)}")
    return 0


def _cmd_reembed(args: argparse.Namespace) -> int:
    from .kb import KnowledgeBase

    kb = KnowledgeBase(config=config_from_args(args))
    done = kb.reembed(force=args.force)
    if not done:
        print(f"{kb.store.uri}: vectors already match the configured models; nothing to do (--force to redo)")
    for table, n in done.items():
        print(f"re-embedded {n} {table} records in {kb.store.uri} with {kb.store.records(table).model()[0]}")
    return 0


def _cmd_graph(args: argparse.Namespace) -> int:
    from .kb import KnowledgeBase

    kb = KnowledgeBase(config=config_from_args(args))
    if args.graph_command == "export":
        from .graph_store import export_graph

        nodes, edges = export_graph(kb.store, args.out, args.format)
        print(f"wrote {args.out}: {nodes} entities, {edges} relations")
        return 0
    if args.graph_command == "list":
        return _graph_list(kb, args)
    found = kb.graph_entity(args.entity)
    if found is None:
        raise VragError(f"no entity named {args.entity!r} in {kb.store.uri} (index with the graph stage first)")
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return 0
    aliases = f" (also: {', '.join(found['aliases'])})" if found["aliases"] else ""
    print(f"{found['name']} [{found['type']}]{aliases}")
    if found.get("description"):
        print(f"  \"{found['description']}\"")
    for n in found["neighbours"][:15]:
        arrow = "->" if n["direction"] == "out" else "<-"
        print(f"  {arrow} {n['type']} {arrow} {n['entity']}  (weight {n['weight']:g})")
    names = _display([a["path"] for a in found["appearances"][:20]])
    for a in found["appearances"][:20]:
        print(f"  {names[a['path']]} @ {mmss(a['start'])}–{mmss(a['end'])}")
    return 0


def _graph_list(kb: Any, args: argparse.Namespace) -> int:
    entities = kb.graph_entities(args.type)
    if args.json:
        print(json.dumps({"db": kb.store.uri, "entities": entities}, indent=2, ensure_ascii=False))
        return 0
    if not entities:
        print(f"{kb.store.uri}: no entities (index with the graph stage first)")
    width = max((len(e["name"]) for e in entities), default=0)
    for e in entities:
        n, v = e["appearances"], e["videos"]
        print(f"{e['name']:<{width}}  {e['type']:<12} {n:>5} appearance{'s' * (n != 1)} in {v} video{'s' * (v != 1)}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from .cli_eval import run

    return run(args)


def _cmd_ui(args: argparse.Namespace) -> int:
    from .cli_ui import run

    return run(args)


def _cmd_speakers(args: argparse.Namespace) -> int:
    from .cli_speakers import run

    return run(args)


def _cmd_config(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    width = max(len(s.name) for s in SETTINGS)
    for s in SETTINGS:
        value = ",".join(cfg[s.name]) if isinstance(cfg[s.name], tuple) else cfg[s.name]
        print(f"{s.name:<{width}}  {value!s:<16} [{cfg.source(s.name)}; env {s.env}]  {s.help}")
    return 0


_COMMANDS = {
    "index": _cmd_index,
    "status": _cmd_status,
    "remove": _cmd_remove,
    "search": _cmd_search,
    "reembed": _cmd_reembed,
    "graph": _cmd_graph,
    "ask": _cmd_ask,
    "config": _cmd_config,
    "eval": _cmd_eval,
    "ui": _cmd_ui,
    "speakers": _cmd_speakers,
}
_COMMANDS.update(SERVICE_COMMANDS)  # mcp, serve, export, clip, watch (vrag/cli_services.py)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
