"""Question answering on the real material in ../shared/eval (skipped when it is absent).

The development questions are in ``tests/eval_questions.jsonl`` (written by hand from the media:
the picture, the sonnet's reference line timings, word timestamps; see ``vrag/bench_qa.py`` for
the metrics). ``python -m vrag.bench_qa --db DB --out BENCHMARKS.md`` reports the same numbers
per kind. The ~60 search+ask calls take about 15 s on 2 cores on top of the shared indexing
pass (``eval_kb`` in conftest.py, also used by test_eval_material.py).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from vrag.bench_qa import KINDS, evaluate, load_questions, summarise

QUESTIONS = Path(__file__).with_name("eval_questions.jsonl")
EVAL_FILES = {
    "nih_twin_study_talk.mp4", "sunscreen_ad.mp4", "nextqa_4405327307_stage.mp4", "gnome_display_settings.webm",
    "big_buck_bunny_0_30.webm", "jfk_inaugural.flac", "shakespeare_sonnet_1.mp3",
}

# Floors a little below what was measured (see the bench-qa section of BENCHMARKS.md) so that
# a regression fails the test but run-to-run noise does not. Measured on /tmp/evalkb with
# `python -m vrag.bench_qa --db /tmp/evalkb --questions tests/eval_questions.jsonl`:
# recall@5 0.94 over the 53 answerable questions, keyword accuracy 0.58 over all 59, 5 of the 6
# unanswerable questions "not found" (2026-11-24).
RECALL_AT_5_FLOOR = 0.88
KEYWORD_FLOOR = 0.52
#: none-02 asks the price of the advertised sunscreen: on-topic for the ad, and "sunscreen" is in
#: the evidence, so the offline answerer quotes the ad instead of abstaining (a known miss).
UNANSWERABLE_MISSES = 1


def test_question_file_is_well_formed():
    questions = load_questions(QUESTIONS)  # raises on missing fields, bad spans, duplicate ids
    assert 40 <= len(questions) <= 60
    kinds = Counter(q["kind"] for q in questions)
    assert set(kinds) == set(KINDS), kinds
    assert 4 <= kinds["unanswerable"] <= 6
    assert {q["file"] for q in questions if q["file"]} == EVAL_FILES  # every file has questions
    for q in questions:
        assert q["question"].strip().endswith(("?", ".")), q["id"]


@pytest.fixture(scope="module")
def results(eval_kb):
    return evaluate(eval_kb, load_questions(QUESTIONS), k=5)


def _table(rows):
    return "\n".join(
        f"{r['id']}: r5={r['r5']} kw={r['keyword_ok']} route={r['route']} answer={r['answer'][:120]!r}" for r in rows
    )


def test_recall_at_5_floor(results):
    summary = summarise(results)
    assert summary["answerable"]["r5"] >= RECALL_AT_5_FLOOR, _table([r for r in results if r["r5"] is False])


def test_keyword_accuracy_floor(results):
    summary = summarise(results)
    assert summary["overall"]["keyword"] >= KEYWORD_FLOOR, _table([r for r in results if not r["keyword_ok"]])


def test_unanswerable_questions_are_not_found(results):
    wrong = [r for r in results if r["kind"] == "unanswerable" and not r["keyword_ok"]]
    assert len(wrong) <= UNANSWERABLE_MISSES, _table(wrong)
