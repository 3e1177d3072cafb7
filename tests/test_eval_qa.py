"""Question answering on the real material in ../shared/eval (skipped when it is absent).

Question files, run the way ``vrag eval`` runs them (:mod:`vrag.evaluate`):
``tests/qa/shared_eval.jsonl``, written by hand from the media (the picture, the sonnet's reference
line timings, word timestamps), and ``tests/qa/nextqa_4405327307.jsonl``, the human NExT-QA
questions of the concert clip with NExT-GQA spans (``data/convert_nextqa.py``); and, for a knowledge
base of all of ../shared/eval (batch2/ too), ``tests/qa/batch2.jsonl`` (written by hand from the
batch2 human annotations and frames) and ``tests/qa/library.jsonl`` (questions about the whole
collection: ``level`` library, ``cite_all``). Only their form is checked here.
``python -m benchmarks.bench_qa --db DB --out BENCHMARKS.md`` reports the same numbers in full. The
~70 search+ask calls take about 20 s on 2 cores on top of the shared indexing pass (``eval_kb``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from vrag.evaluate import QAFileError, _answer_ok, load_qa, run_eval, summarise

QA = Path(__file__).with_name("qa")
EVAL_FILES = {
    "nih_twin_study_talk.mp4", "sunscreen_ad.mp4", "nextqa_4405327307_stage.mp4", "gnome_display_settings.webm",
    "big_buck_bunny_0_30.webm", "jfk_inaugural.flac", "shakespeare_sonnet_1.mp3",
}
KINDS = {"speech", "screen", "visual", "cross", "global", "unanswerable"}

# Floors a little below what was measured (the bench-qa section of BENCHMARKS.md) so that a
# regression fails the test but run-to-run noise does not. Measured on /tmp/evalkb with
# `python -m benchmarks.bench_qa --db /tmp/evalkb` (k=10, spans must overlap: no slack), 2026-11-24:
# shared_eval recall@5 (file + span) 0.94 over the 53 answerable questions, answer accuracy 0.61
# over all 59, all 6 unanswerable questions "not found"; NExT-QA file recall@5 1.00.
# With the 24 questions added for issue 16 (83 in all), on a fresh index of media/ + audio/ with
# `vrag index ../shared/eval/media ../shared/eval/audio --db /tmp/qa_kb_small` and
# `vrag eval tests/qa/shared_eval.jsonl --db /tmp/qa_kb_small -k 5 --json`, 2026-11-30: recall@5 (file + span)
# 0.91 over the 77 answerable, answer accuracy 0.51 over all 83 (the first 59: 0.94 and 0.61 as before;
# the 24 new: 0.83 and 0.25), all 6 unanswerable "not found".
RECALL_AT_5_FLOOR = 0.85
ANSWER_FLOOR = 0.45
#: Every unanswerable question must say "not found" (none-02, the price of the advertised
#: sunscreen, used to be quoted from the ad: a price question now needs a price in the evidence).
UNANSWERABLE_MISSES = 0
#: The human NExT-QA questions ask about people ("the lady in yellow", "the camera man"), which nothing in
#: the index describes: the clip is found through its stage, singing and microphone. Measured 2026-11-30
#: (session 4) on media+audio: 9 of 11 in the top 5; the two others, nextqa-3 and nextqa-8, are the 6th hit
#: (they were at the edge before: the keyframe/caption round of issue 19 moved them by one). The floor
#: guards against losing the clip, not against one borderline question.
NEXTQA_FILE_RECALL_AT_5_FLOOR = 0.8


def test_question_files_are_well_formed():
    questions = load_qa(QA / "shared_eval.jsonl")  # raises on malformed lines, bad spans, duplicate ids
    assert 80 <= len(questions) <= 100
    kinds = Counter(q["kind"] for q in questions)
    assert set(kinds) == KINDS, kinds
    assert 4 <= kinds["unanswerable"] <= 6
    assert {f for q in questions for f in q["files"]} == EVAL_FILES  # every file has questions
    for q in questions:
        assert q["question"].endswith(("?", ".")), q["id"]
        assert q["kind"] == "unanswerable" or (q["spans"] and (q["answer_all"] or q["answer_any"]) and q["level"]), q["id"]
    nextqa = load_qa(QA / "nextqa_4405327307.jsonl")
    assert len(nextqa) == 11 and sum(bool(q["spans"]) for q in nextqa) == 9


BATCH2_FILES = {
    "cais_v1_sports.mp4", "cais_v3_sports.mp4", "cais_v11_talkshow.mp4", "cais_v12_talkshow.mp4", "cais_v13_weather.mp4",
    "cais_v17_weather.mp4", "cais_v18_weather.mp4", "cais_v20_weather.mp4", "ableplayer_song_en.mp3",
    "ableplayer_song_fr.mp3", "nextqa_6037747123.mp4",
}


def test_batch2_and_library_question_files_are_well_formed():
    batch2 = load_qa(QA / "batch2.jsonl")
    kinds = Counter(q["kind"] for q in batch2)
    assert len(batch2) >= 85 and {f for q in batch2 for f in q["files"]} == BATCH2_FILES, kinds
    assert kinds["unanswerable"] >= 8 and kinds["speech-fr"] >= 4 and kinds["lyrics"] >= 8, kinds
    assert sum(n for k, n in kinds.items() if k.startswith("nextqa-")) == 9  # NExT-QA val rows of the golf clip
    for q in batch2:
        assert q["question"].endswith(("?", ".")), q["id"]
        text = q["question"].lower()
        assert not any(w in text for w in q["answer_all"] + q["answer_any"]), q["id"]  # the question gives no answer away
        assert q["kind"] == "unanswerable" or (q["level"] and (q["spans"] or q["kind"].startswith("nextqa-"))), q["id"]
    assert sum(bool(q["spans"]) for q in batch2 if q["kind"].startswith("nextqa-")) == 6  # the NExT-GQA spans
    library = load_qa(QA / "library.jsonl")
    assert len(library) >= 15
    on_disk = EVAL_FILES | BATCH2_FILES
    for q in library:
        assert q["level"] == "library" and q["kind"] == "library" and q["cite_all"] and q["files"], q["id"]
        assert set(q["files"]) <= on_disk, q["id"]
    total = sum(len(load_qa(path)) for path in QA.glob("*.jsonl"))
    assert total >= 150, total


@pytest.fixture(scope="module")
def results(eval_kb):
    return run_eval(eval_kb, load_qa(QA / "shared_eval.jsonl"), k=5)


def _table(rows):
    return "\n".join(f"{r['id']}: rank={r['rank']} answer_ok={r['answer_ok']} route={r['route']} "
                     f"answer={r['answer'][:120]!r}" for r in rows)


def test_recall_at_5_floor(results):
    summary = summarise(results, k=5)
    assert summary["span_recall"]["5"] >= RECALL_AT_5_FLOOR, _table([r for r in results if r["file"] and not r["rank"]])


def test_answer_accuracy_floor(results):
    summary = summarise(results, k=5)
    assert summary["answer_accuracy"] >= ANSWER_FLOOR, _table([r for r in results if r["answer_ok"] is False])


def test_unanswerable_questions_are_not_found(results):
    wrong = [r for r in results if not r["file"] and not r["answer_ok"]]
    assert len(wrong) <= UNANSWERABLE_MISSES, _table(wrong)


def test_nextqa_questions_find_the_concert_clip(eval_kb):
    rows = run_eval(eval_kb, load_qa(QA / "nextqa_4405327307.jsonl"), k=5)
    summary = summarise(rows, k=5)
    assert summary["file_recall"]["5"] >= NEXTQA_FILE_RECALL_AT_5_FLOOR, _table(rows)


def _one(tmp_path, line):
    path = tmp_path / "q.jsonl"
    path.write_text("# one question\n" + line + "\n", encoding="utf-8")
    return path


def test_library_level_and_cite_all_load(tmp_path):
    q, = load_qa(_one(tmp_path, '{"question": "Which clips are songs?", "file": ["en.mp3", "fr.mp3"], '
                                '"level": "library", "kind": "library", "cite_all": true}'))
    assert q["level"] == "library" and q["cite_all"] is True and q["files"] == ["en.mp3", "fr.mp3"]
    plain, = load_qa(_one(tmp_path, '{"question": "q?", "file": "a.mp4"}'))
    assert plain["cite_all"] is False


@pytest.mark.parametrize("line, reason", [
    ('{"question": "q?", "file": ["a.mp4"], "cite_all": "yes"}', "true or false"),
    ('{"question": "q?", "file": ["a.mp4"], "cite_all": 1}', "true or false"),
    ('{"question": "q?", "file": null, "cite_all": true}', "needs the files"),
])
def test_bad_cite_all_names_the_field(tmp_path, line, reason):
    path = _one(tmp_path, line)
    with pytest.raises(QAFileError) as err:
        load_qa(path)
    assert str(err.value).startswith(f"{path}:2: field 'cite_all': ") and reason in str(err.value)


def test_cite_all_needs_a_citation_of_every_listed_file(tmp_path):
    """A library question is right only when the answer cites every file it lists (by name, indexed
    path or video id); citing other files as well does not hurt."""
    q, = load_qa(_one(tmp_path, '{"question": "Which clips are weather forecasts?", "level": "library", '
                                '"file": ["cais_v13_weather.mp4", "cais_v18_weather.mp4", "cais_v20_weather.mp4"], '
                                '"answer_any": ["weather"], "cite_all": true}'))

    def cite(path, video_id="v"):
        return {"video_id": video_id, "path": path, "start": 3.0, "end": 9.0}

    answer = "These are weather forecasts [1] [2]."
    two = [cite("/e/batch2/cais_v13_weather.mp4"), cite("batch2/cais_v18_weather.mp4")]
    assert _answer_ok(answer, two, q) is False
    three = two + [cite("batch2/cais_v20_weather.mp4"), cite("media/sunscreen_ad.mp4")]
    assert _answer_ok(answer, three, q) is True
    assert _answer_ok("Three clips [1] [2] [3].", three, q) is False  # the answer words still count
    by_id = two + [cite("elsewhere/renamed.mp4", video_id="cais_v20_weather.mp4")]
    assert _answer_ok(answer, by_id, q) is True
    q_words_free = {**q, "answer_any": []}  # without answer words the citations alone decide
    assert _answer_ok("x", two, q_words_free) is False and _answer_ok("x", three, q_words_free) is True
    assert _answer_ok("x", two, {**q_words_free, "cite_all": False}) is None
