"""Library-level questions on the shared real clips: ``python -m benchmarks.bench_library --out BENCHMARKS.md``.

Asks questions about the collection ("which clips have music?") of a knowledge base of
``../shared/eval`` (``--db``; without it the folder is indexed into a temporary one first) and
compares the videos each answer cites with the videos that should be listed, written from the
descriptions in the material's README/SOURCES (development questions, not the held-out set).
Writes per-question precision/recall, the exact-set rate and the time per question as the
``bench-library`` section.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Section, command_line, measured

__all__ = ["SECTION", "QUESTIONS", "main", "run"]

SECTION = Section("<!-- bench-library:begin -->", "<!-- bench-library:end -->")
_WEATHER = {"cais_v13_weather.mp4", "cais_v17_weather.mp4", "cais_v18_weather.mp4", "cais_v20_weather.mp4"}
_TALK = {"cais_v11_talkshow.mp4", "cais_v12_talkshow.mp4"}
_SPORTS = {"cais_v1_sports.mp4", "cais_v3_sports.mp4"}
_SONGS = {"ableplayer_song_en.mp3", "ableplayer_song_fr.mp3", "nextqa_4405327307_stage.mp4"}
#: (question, the file names that should be cited): from the README/SOURCES descriptions.
QUESTIONS: list[tuple[str, set[str]]] = [
    ("Which of the clips are weather forecasts, and which places do they mention?", _WEATHER),
    ("Which of the clips are talk shows?", _TALK),
    ("Summarize the two talk-show clips.", _TALK),
    ("Which clips are sports broadcasts?", _SPORTS),
    ("Which clips are about hockey?", _SPORTS),
    ("Which clips have music in them?", _SONGS | {"big_buck_bunny_0_30.webm"}),
    ("Which recordings have singing?", _SONGS),
    ("Which videos mention Toronto?", {"cais_v1_sports.mp4", "cais_v17_weather.mp4", "cais_v18_weather.mp4",
                                       "cais_v20_weather.mp4"}),
    ("Are there any videos about dementia?", {"nih_twin_study_talk.mp4"}),
    ("Which clips talk about CGI?", {"cais_v12_talkshow.mp4"}),
    ("Is there a software screencast?", {"gnome_display_settings.webm"}),
    ("Are there any lectures?", {"nih_twin_study_talk.mp4"}),
    ("Which clips are advertisements?", {"sunscreen_ad.mp4"}),
    ("Which videos are about cooking pasta?", set()),
]


def run(db: str) -> list[dict[str, Any]]:
    """Each question's route, cited files, precision, recall and seconds."""
    from vrag import KnowledgeBase

    kb = KnowledgeBase(db)
    kb.ask("Which clips have music?")  # load the models before timing
    rows = []
    for question, expected in QUESTIONS:
        started = time.perf_counter()
        result = kb.ask(question)
        seconds = time.perf_counter() - started
        got = {os.path.basename(c["path"]) for c in result.citations}
        right = len(got & expected)
        rows.append({"question": question, "route": result.route, "got": got, "expected": expected,
                     "precision": right / len(got) if got else float(not expected),
                     "recall": right / len(expected) if expected else float(not got), "seconds": seconds})
    return rows


def report(rows: list[dict[str, Any]], command: str) -> str:
    exact = sum(r["got"] == r["expected"] for r in rows)
    lines = [
        "## Library-level questions (which clips ...)",
        "",
        measured(command),
        "",
        f"{len(rows)} questions about the collection of `../shared/eval` (18 files); expected videos written "
        f"from the material's descriptions. **Exact set of videos: {exact}/{len(rows)}**, mean precision "
        f"{sum(r['precision'] for r in rows) / len(rows):.2f}, mean recall {sum(r['recall'] for r in rows) / len(rows):.2f}, "
        f"library route {sum(r['route'] == 'library' for r in rows)}/{len(rows)}, "
        f"median {sorted(r['seconds'] for r in rows)[len(rows) // 2]:.2f} s per question.",
        "",
        "| question | route | P | R | s | missed | extra |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        missed = ", ".join(sorted(r["expected"] - r["got"])) or "—"
        extra = ", ".join(sorted(r["got"] - r["expected"])) or "—"
        lines.append(f"| {r['question']} | {r['route']} | {r['precision']:.2f} | {r['recall']:.2f} | "
                     f"{r['seconds']:.2f} | {missed} | {extra} |")
    return SECTION.render(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_library", description=__doc__.splitlines()[0])
    p.add_argument("--db", help="a knowledge base of ../shared/eval (default: index it into a temporary one)")
    p.add_argument("--eval", default="../shared/eval", help="the shared material (default ../shared/eval)")
    p.add_argument("--out", type=Path, help="markdown file whose bench-library section is replaced")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vrag-bench-library-") as tmp:
        db = args.db
        if not db:
            from vrag import KnowledgeBase

            db = os.path.join(tmp, "kb")
            KnowledgeBase(db).index([args.eval])
        SECTION.publish(report(run(db), command_line("benchmarks.bench_library", argv)), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
