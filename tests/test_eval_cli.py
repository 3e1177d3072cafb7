"""``vrag eval``: the question-file checks (one clear line per malformed line) and the metrics,
end to end on the generated lecture and Curie clips (``qa_kb`` in conftest.py)."""

from __future__ import annotations

import json

import pytest

from vrag.cli import main
from vrag.evaluate import QAFileError, iou, load_qa


def _write(tmp_path, lines, name="qa.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = '{"question": "q?", "file": "a.mp4"}'


@pytest.mark.parametrize("line, field, reason", [
    ('{"question": "q?", "file": "a.mp4"', None, "not valid JSON"),
    ('["q?", "a.mp4"]', None, "must be a JSON object"),
    ('{"file": "a.mp4"}', "question", "required"),
    ('{"question": "q?"}', "file", "required"),
    ('{"question": "q?", "file": 3}', "file", "a file name"),
    ('{"question": "q?", "file": "a.mp4", "span": [5, 2]}', "span", "0 <= start <= end"),
    ('{"question": "q?", "file": "a.mp4", "span": "0-5"}', "span", "[start, end]"),
    ('{"question": "q?", "file": null, "span": [0, 5]}', "span", "needs a file"),
    ('{"question": "q?", "file": "a.mp4", "level": "deep"}', "level", "valid: naive, hybrid, graph"),
    ('{"question": "q?", "file": "a.mp4", "answer_any": "duke"}', "answer_any", "a list"),
    ('{"question": "q?", "file": "a.mp4", "answr_any": ["duke"]}', "answr_any", "unknown field"),
    ('{"id": "x", "question": "q?", "file": "a.mp4"}', "id", "used by an earlier line"),
])
def test_malformed_lines_name_the_line_and_the_field(tmp_path, line, field, reason):
    path = _write(tmp_path, ["# comment", '{"id": "x", "question": "first?", "file": "a.mp4"}', "", line])
    with pytest.raises(QAFileError) as err:
        load_qa(path)
    message = str(err.value)
    assert message.startswith(f"{path}:4: ") and reason in message and "\n" not in message
    if field:
        assert repr(field) in message


def test_question_file_normalisation_and_cli_error(tmp_path, capsys):
    qs = load_qa(_write(tmp_path, [GOOD, '{"question": " r? ", "file": ["a.mp4", "b.mp4"], "span": [1, 2.5], '
                                         '"also": [[7, 8]], "answer_any": ["Duke"], "level": "graph"}',
                                   '{"question": "none?", "file": null}']))
    assert [q["id"] for q in qs] == ["1", "2", "3"]
    assert qs[1]["files"] == ["a.mp4", "b.mp4"] and qs[1]["spans"] == [(1.0, 2.5), (7.0, 8.0)]
    assert qs[1]["answer_any"] == ["duke"] and qs[1]["question"] == "r?" and qs[2]["kind"] == "unanswerable"
    assert iou((0, 10), (5, 15)) == pytest.approx(5 / 15) and iou((0, 1), (2, 3)) == 0.0
    bad = _write(tmp_path, [GOOD, "{oops"], "bad.jsonl")
    assert main(["eval", str(bad), "--db", str(tmp_path / "kb")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("vrag: error: ") and f"{bad}:2: not valid JSON" in err and len(err.splitlines()) == 1


def test_eval_reports_recall_iou_routing_answers_and_citations(qa_kb, lecture, tmp_path, capsys):
    src, spans = lecture
    glacier, hekla = spans[1], spans[0]
    lines = [
        json.dumps({"id": "glacier", "question": "How much thickness does the largest glacier lose every year?",
                    "file": src.name, "span": [glacier.speech_start, glacier.speech_end],
                    "answer_any": ["metre", "meter"], "level": "naive", "kind": "speech"}),
        json.dumps({"id": "hekla", "question": "In which year did Hekla erupt according to the slide?",
                    "file": str(src), "span": [hekla.start, hekla.end], "answer_any": ["1104"], "level": "naive"}),
        json.dumps({"id": "curie", "question": "How are polonium and the Sorbonne connected across these videos?",
                    "file": ["curie_paris.mp4", "curie_sorbonne.mp4"], "answer_all": ["marie curie"],
                    "level": "graph", "kind": "cross"}),
        # the right file but a span where the answer is not: not a hit at rank 1 (a later hit may be on it)
        json.dumps({"id": "wrong-span", "question": "How much thickness does the largest glacier lose every year?",
                    "file": src.name, "span": [spans[2].speech_start, spans[2].speech_end], "level": "hybrid"}),
        json.dumps({"id": "none", "question": "What is the boiling point of liquid mercury in kelvin?", "file": None}),
    ]
    qa = _write(tmp_path, lines)
    assert main(["eval", str(qa), "--db", str(qa_kb.store.path), "--json", "-k", "5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"db", "questions_file", "k", "tolerance", "mode", "summary", "questions"} <= set(out)
    rows = {r["id"]: r for r in out["questions"]}
    assert rows["glacier"]["rank"] == 1 and rows["glacier"]["iou"] > 0.2 and rows["glacier"]["answer_ok"] is True
    assert rows["hekla"]["rank"] is not None and rows["hekla"]["answer_ok"] is True
    assert rows["curie"]["file_rank"] == 1 and rows["curie"]["routed_level"] == "graph" and rows["curie"]["answer_ok"]
    assert rows["wrong-span"]["file_rank"] == 1 and rows["wrong-span"]["rank"] != 1
    assert rows["wrong-span"]["answer_ok"] is None  # no expected words: not scored
    assert rows["none"]["answer_ok"] is True and rows["none"]["said_not_found"] and rows["none"]["file_rank"] is None
    s = out["summary"]
    assert s["questions"] == 5 and s["answerable"] == 4
    assert s["file_recall"] == {"1": 1.0, "5": 1.0}
    for k in (1, 5):
        assert s["span_recall"][str(k)] == sum(bool(r["rank"]) and r["rank"] <= k for r in rows.values()) / 4
    assert s["span_recall"]["1"] <= 0.75
    assert s["mrr"] == pytest.approx(sum(1 / r["rank"] for r in rows.values() if r["rank"]) / 4)
    assert s["answer_accuracy"] == 1.0 and s["unanswerable_ok"] == 1.0
    confusion = s["routing"]["confusion"]
    assert s["routing"]["labelled"] == 4 and confusion["graph"]["graph"] == 1
    assert sum(confusion["hybrid"].values()) == 1
    assert s["routing"]["accuracy"] == pytest.approx(
        sum(r["routed_level"] == r["expected_level"] for r in rows.values() if r["expected_level"]) / 4)
    cited = [r for r in rows.values() if r["file"] and r["citations"]]
    assert s["citation_precision"] == pytest.approx(
        sum(r["right_citations"] for r in cited) / sum(r["citations"] for r in cited))
    assert rows["wrong-span"]["citations"] > 0 and rows["wrong-span"]["right_citations"] == 0
    assert set(s["latency_ms"]) == {r["route"] for r in rows.values()}
    assert set(s["kinds"]) == {"speech", "cross", "unanswerable"}

    assert main(["eval", str(qa), "--db", str(qa_kb.store.path), "-q"]) == 0
    human = capsys.readouterr().out
    assert "recall (file + time span)" in human and "routing accuracy 0." in human and "latency" in human
