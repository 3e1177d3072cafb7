"""The knowledge graph across videos: one entity per real thing, provenance per video, clean removal.

Speech comes from sidecar subtitles (known words at known times) over generated audio, so the
test exercises extraction, resolution and storage rather than ASR accuracy.
"""

from __future__ import annotations

import json
import subprocess
import sys

from vrag import KnowledgeBase
from vrag.synth import make_tone


def _talk(folder, name, lines):
    audio = folder / f"{name}.ogg"
    make_tone(audio, 12.0, music=False)
    srt = "".join(
        f"{i + 1}\n00:00:{start:02d},000 --> 00:00:{end:02d},000\n{text}\n\n" for i, (start, end, text) in enumerate(lines)
    )
    (folder / f"{name}.srt").write_text(srt, encoding="utf-8")
    return audio


def test_entities_link_videos_and_removal_drops_provenance(tmp_path):
    one = _talk(tmp_path, "one", [(1, 4, "Marie Curie worked in Paris with Pierre Curie."),
                                  (5, 9, "Radioactivity was her field.")])
    two = _talk(tmp_path, "two", [(2, 6, "Marie Curie discovered polonium in 1898."),
                                  (7, 11, "Later, Curie won a second Nobel Prize.")])
    kb = KnowledgeBase(tmp_path / "kb", stages=("asr", "graph"))
    assert kb.index([one, two]).ok
    ids = {v["path"]: v["video_id"] for v in kb.status()["videos"]}
    marie = kb.graph_entity("Marie Curie")
    assert marie["type"] == "PERSON" and sorted(marie["videos"]) == sorted(ids.values())
    spans = {(a["path"], a["start"], a["end"]) for a in marie["appearances"]}
    assert (str(one), 1.0, 4.0) in spans and (str(two), 2.0, 6.0) in spans
    assert "Curie" in marie["aliases"]  # the lone surname in video two is the one Curie there
    assert ("discover", "polonium") in {(n["type"], n["entity"]) for n in marie["neighbours"]}
    assert kb.graph_entity("marie curie")["entity_id"] == marie["entity_id"]  # names match case-insensitively

    kb.remove([one])
    marie = kb.graph_entity("Marie Curie")
    assert marie["videos"] == [ids[str(two)]]
    assert all(a["path"] == str(two) for a in marie["appearances"])
    assert kb.graph_entity("Pierre Curie") is None  # no provenance left: gone
    assert kb.graph_entity("Radioactivity") is None


def test_graph_show_cli(tmp_path):
    talk = _talk(tmp_path, "talk", [(1, 5, "Ada Lovelace wrote the first program for the Analytical Engine.")])
    db = str(tmp_path / "kb")
    assert KnowledgeBase(db, stages=("asr", "graph")).index([talk]).ok
    out = subprocess.run([sys.executable, "-m", "vrag", "graph", "show", "ada lovelace", "--db", db, "--json"],
                         capture_output=True, text=True, timeout=120)
    data = json.loads(out.stdout)
    assert data["name"] == "Ada Lovelace" and data["appearances"][0]["start"] == 1.0
    assert ("write", "first program") in {(n["type"], n["entity"]) for n in data["neighbours"]}
    missing = subprocess.run([sys.executable, "-m", "vrag", "graph", "show", "Nobody", "--db", db],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "no entity named 'Nobody'" in missing.stderr


def test_graph_export_graphml_and_json(tmp_path):
    import networkx as nx

    talk = _talk(tmp_path, "talk", [(1, 5, "Ada Lovelace wrote the first program for Charles Babbage.")])
    db = str(tmp_path / "kb")
    KnowledgeBase(db, stages=("asr", "graph")).index([talk])
    for fmt in ("graphml", "json"):
        out = tmp_path / f"graph.{fmt}"
        done = subprocess.run([sys.executable, "-m", "vrag", "graph", "export", str(out), "--format", fmt, "--db", db],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stdout.startswith(f"wrote {out}: ")
    graph = nx.read_graphml(tmp_path / "graph.graphml")
    names = {d["name"]: json.loads(d["provenance"]) for _, d in graph.nodes(data=True)}
    assert names["Ada Lovelace"][0]["start"] == 1.0 and "Charles Babbage" in names
    data = json.loads((tmp_path / "graph.json").read_text())
    assert {e["type"] for e in data["edges"]} >= {"write", "co_occurs"}
