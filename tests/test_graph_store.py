"""The knowledge graph across videos: one entity per real thing, provenance per video, clean removal.

Speech comes from sidecar subtitles (known words at known times) over generated audio, so the
test exercises extraction, resolution and storage rather than ASR accuracy.
"""

from __future__ import annotations

import json
import subprocess
import sys

from vrag import KnowledgeBase
from support.synth import make_tone


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


def test_a_lone_surname_means_the_full_name_of_its_own_video(tmp_path):
    one = _talk(tmp_path, "one", [(1, 4, "Marie Curie worked in Paris."), (5, 9, "Curie studied radium.")])
    two = _talk(tmp_path, "two", [(1, 4, "Pierre Curie taught physics."), (5, 9, "Curie built an electrometer.")])
    kb = KnowledgeBase(tmp_path / "kb", stages=("asr", "graph"))
    assert kb.index([one, two]).ok
    marie, pierre = kb.graph_entity("Marie Curie"), kb.graph_entity("Pierre Curie")
    assert {(a["path"], a["start"]) for a in marie["appearances"]} == {(str(one), 1.0), (str(one), 5.0)}
    assert {(a["path"], a["start"]) for a in pierre["appearances"]} == {(str(two), 1.0), (str(two), 5.0)}
    assert "radium" in {n["entity"] for n in marie["neighbours"]}
    assert "electrometer" in {n["entity"] for n in pierre["neighbours"]}
    assert "radium" not in {n["entity"] for n in pierre["neighbours"]}


def test_changed_merge_setting_rebuilds_the_graph_without_reindexing(tmp_path):
    talk = _talk(tmp_path, "talk", [(1, 4, "The World Health Organisation published a report."),
                                    (5, 9, "The World Health Organization approved the vaccine.")])
    db = tmp_path / "kb"
    assert KnowledgeBase(db, stages=("asr", "graph"), graph_merge_similarity=1.0).index([talk]).ok
    kb = KnowledgeBase(db, stages=("asr", "graph"))
    apart = kb.graph_entity("World Health Organisation")
    assert apart["aliases"] == [] and apart["entity_id"] != kb.graph_entity("World Health Organization")["entity_id"]
    report = kb.index([talk])
    assert [r.status for r in report.results] == ["unchanged"]
    merged = kb.graph_entity("World Health Organization")
    assert kb.graph_entity("World Health Organisation")["entity_id"] == merged["entity_id"]
    assert {a["start"] for a in merged["appearances"]} == {1.0, 5.0}
    assert merged["description"]  # the sentence that first names it


def test_run_killed_between_extraction_and_graph_build_is_rebuilt_next_run(tmp_path, monkeypatch):
    """The graph records the extraction state it was built from; a run that wrote a video's
    extraction but died before rebuilding (simulated: the rebuild raises) is caught up next run."""
    from vrag import pipeline

    one = _talk(tmp_path, "one", [(1, 4, "Marie Curie worked in Paris.")])
    two = _talk(tmp_path, "two", [(2, 6, "Ada Lovelace wrote the first program.")])
    db = tmp_path / "kb"
    kb = KnowledgeBase(db, stages=("asr", "graph"))
    assert kb.index([one]).ok

    def killed(self):
        raise KeyboardInterrupt  # stands for the kill: the extraction of "two" is written, the graph is not
    monkeypatch.setattr(pipeline.Indexer, "rebuild_graph", killed)
    try:
        KnowledgeBase(db, stages=("asr", "graph")).index([two])
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    kb = KnowledgeBase(db, stages=("asr", "graph"))
    assert kb.graph_entity("Ada Lovelace") is None  # the graph is behind its extractions
    report = kb.index([one, two])
    assert [r.status for r in report.results] == ["unchanged", "unchanged"]
    ada = kb.graph_entity("Ada Lovelace")
    assert ada is not None and {a["path"] for a in ada["appearances"]} == {str(two)}
    assert [r.status for r in kb.index([one, two]).results] == ["unchanged", "unchanged"]


def test_networkx_graph_is_cached_until_the_index_changes(tmp_path):
    from vrag.graph_store import to_networkx

    talk = _talk(tmp_path, "talk", [(1, 5, "Ada Lovelace wrote the first program for Charles Babbage.")])
    kb = KnowledgeBase(tmp_path / "kb", stages=("asr", "graph"))
    kb.index([talk])
    first = to_networkx(kb.store)
    assert to_networkx(kb.store) is first
    other = _talk(tmp_path, "other", [(1, 5, "Grace Hopper built a compiler.")])
    kb.index([other])
    fresh = to_networkx(kb.store)
    assert fresh is not first and "Grace Hopper" in {d["name"] for _, d in fresh.nodes(data=True)}


def _fake_graph_reply(body, n):
    """The FAKE model's answer: Ada's segments get typed JSON (plus an invented name that must be
    dropped); Grace's get prose, which must fall back to spaCy."""
    prompt = body["messages"][-1]["content"]
    if "Grace Hopper" in prompt:
        return "Sorry, I cannot help with that."
    return "```json\n" + json.dumps({
        "entities": [{"name": "Ada Lovelace", "type": "PERSON", "segments": [1]},
                     {"name": "Analytical Engine", "type": "PRODUCT", "segments": [1]},
                     {"name": "Napoleon", "type": "PERSON", "segments": [1]}],
        "relations": [{"source": "Ada Lovelace", "target": "Analytical Engine", "type": "programmed", "segment": 1},
                      {"source": "Ada Lovelace", "target": "Napoleon", "type": "met", "segment": 1}],
    }) + "\n```"


def test_llm_extractor_records_and_per_batch_fallback(tmp_path):
    from fake_chat_server import FakeOpenAIServer

    ada = _talk(tmp_path, "ada", [(1, 5, "Ada Lovelace wrote notes on the Analytical Engine.")])
    grace = _talk(tmp_path, "grace", [(1, 5, "Grace Hopper built the first compiler.")])
    with FakeOpenAIServer(reply=_fake_graph_reply) as server:
        kb = KnowledgeBase(tmp_path / "kb", stages=("asr", "graph"), graph_extractor="llm", llm_model="fake-llm",
                           llm_base_url=server.url, llm_retries=0, llm_timeout=5.0)
        assert kb.index([ada, grace]).ok
        assert "not instructions" in server.requests[0]["messages"][-1]["content"]  # video text is data
        asked = len(server.requests)
    engine = kb.graph_entity("Analytical Engine")
    assert engine["type"] == "PRODUCT" and engine["appearances"][0]["start"] == 1.0
    assert ("programmed", "Analytical Engine") in {(n["type"], n["entity"]) for n in kb.graph_entity("Ada Lovelace")["neighbours"]}
    assert kb.graph_entity("Napoleon") is None  # not in the text: invented, dropped
    assert kb.graph_entity("Grace Hopper")["type"] == "PERSON"  # spaCy took over for that batch
    videos = {v["path"]: v for v in kb.status()["videos"]}
    assert videos[str(ada)]["warnings"] == []
    (warning,) = videos[str(grace)]["warnings"]
    assert warning.startswith("graph: LLM extractor at") and "used spaCy" in warning
    assert asked == 2
