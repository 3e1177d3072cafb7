"""``vrag speakers``: list the speakers found in the indexed videos, and name them."""

from __future__ import annotations

import argparse
import json

from .config_args import config_from_args
from .timecode import mmss


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sp = sub.add_parser("speakers", parents=[common], help="who speaks: list the speakers of videos, name them")
    ssub = sp.add_subparsers(dest="speakers_command", required=True, metavar="ACTION")
    ls = ssub.add_parser("list", parents=[common], help="speakers of every video (or of VIDEO): label, name, time")
    ls.add_argument("video", nargs="?", metavar="VIDEO", help="indexed path, file name or video id")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    rn = ssub.add_parser("rename", parents=[common], help="name a speaker (kept when the video is indexed again)")
    rn.add_argument("video", metavar="VIDEO", help="indexed path, file name or video id")
    rn.add_argument("speaker", metavar="SPEAKER", help='its label ("S2") or current name')
    rn.add_argument("name", metavar="NAME", help='the name to give, e.g. "Glenn Healy"')


def run(args: argparse.Namespace) -> int:
    from .kb import KnowledgeBase

    kb = KnowledgeBase(config=config_from_args(args))
    if args.speakers_command == "rename":
        done = kb.rename_speaker(args.video, args.speaker, args.name)
        print(f"{done['label']} of {done['video_id'][:12]} is now {done['name']!r}")
        for other in done["also"]:
            print(f"  the same voice: {other['label']} of {other['video_id'][:12]} (similarity {other['similarity']:.2f})")
        return 0
    speakers = kb.speakers(args.video)
    if args.json:
        print(json.dumps({"speakers": speakers}, indent=2, ensure_ascii=False))
        return 0
    if not speakers:
        print("no speakers found (index speech with the speakers stage)")
        return 0
    path = None
    for s in speakers:
        if s["path"] != path:
            path = s["path"]
            print(path)
        name = "" if s["name"] == s["label"] else f" {s['name']!r} ({s['source']})"
        first = f", first at {mmss(s['turns'][0][0])}" if s["turns"] else ""
        print(f"  {s['label']}{name}: {s['seconds']:.0f}s in {len(s['turns'])} turns{first}")
        for other in s["same_as"]:
            print(f"    same voice as {other['label']} {other['name']!r} in {other['video_id'][:12]} ({other['similarity']:.2f})")
    return 0
