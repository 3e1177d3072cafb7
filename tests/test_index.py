"""End-to-end indexing on generated media with known speech and on-screen text."""

from __future__ import annotations

import shutil

import pytest

from vrag import KnowledgeBase
from vrag.errors import VragError


def _overlap(a0, a1, b0, b1):
    return min(a1, b1) - max(a0, b0)


@pytest.fixture(scope="module")
def indexed(lecture, tmp_path_factory):
    path, spans = lecture
    db = tmp_path_factory.mktemp("kb") / "kb"
    kb = KnowledgeBase(db)
    report = kb.index([path])
    assert report.ok, [(r.path, r.reason) for r in report.results]
    return kb, path, spans


def test_spoken_phrase_is_in_asr_records_during_its_slide(indexed):
    kb, _path, spans = indexed
    asr = kb.segments(modality="asr")
    assert asr, "no speech records"
    for needle, span in (("hot spot", spans[0]), ("every single year", spans[1]), ("underground springs", spans[2])):
        hits = [s for s in asr if needle in s.text.lower()]
        assert hits, f"{needle!r} not transcribed: {[s.text for s in asr]}"
        seg = hits[0]
        assert _overlap(seg.start, seg.end, span.speech_start, span.speech_end) > 0.5 * (seg.end - seg.start)
        words = seg.meta["words"]
        assert words and all(isinstance(w["start"], float) for w in words)
        assert seg.producer.startswith("faster-whisper:tiny.en")


def test_slide_text_is_an_ocr_record_with_the_slide_span(indexed):
    kb, _path, spans = indexed
    ocr = kb.segments(modality="ocr")
    for i, title in enumerate(["Volcanoes of Hawaii", "Glacier Retreat", "Geothermal Power"]):
        recs = [s for s in ocr if title.lower() in s.text.lower()]
        assert recs, f"{title!r} not read: {[s.text for s in ocr]}"
        rec = recs[0]
        assert abs(rec.start - spans[i].start) <= 0.6, (rec, spans[i])
        assert abs(rec.end - spans[i].end) <= 0.6, (rec, spans[i])
        line = next(ln for ln in rec.meta["lines"] if title.lower() in ln["text"].lower())
        assert 0.6 <= line["confidence"] <= 1.0 and len(line["box"]) == 4
    # the bullet that was only shown, never spoken
    assert any("hekla erupted in 1104" in s.text.lower() for s in ocr)


def test_shots_follow_the_slide_cuts_and_units_carry_text(indexed):
    kb, _path, spans = indexed
    shots = kb.segments(modality="shot")
    assert len(shots) == len(spans)
    for shot, span in zip(shots, spans):
        assert abs(shot.start - span.start) <= 0.3 and abs(shot.end - span.end) <= 0.3
    assert "glacier" in shots[1].text.lower()  # the shot record holds what was said and shown in it
    windows = kb.segments(modality="window")
    assert windows and windows[0].start == 0.0


def test_status_json_contract(indexed):
    kb, path, _spans = indexed
    status = kb.status()
    (video,) = status["videos"]
    assert set(video) >= {"video_id", "path", "duration", "status", "counts"}
    assert video["path"] == str(path) and video["status"] == "indexed"
    assert video["counts"]["asr"] >= 3 and video["counts"]["ocr"] >= 3 and video["counts"]["shot"] == 3
    assert len(video["video_id"]) == 32


def test_rerun_adds_nothing_and_reports_unchanged(indexed):
    kb, path, _spans = indexed
    before = {s.segment_id for s in kb.segments()}
    report = kb.index([path])
    assert [r.status for r in report.results] == ["unchanged"]
    assert {s.segment_id for s in kb.segments()} == before


def test_renamed_file_keeps_its_records(indexed, tmp_path):
    kb, path, _spans = indexed
    moved = tmp_path / "renamed.mp4"
    shutil.copy2(path, moved)
    report = kb.index([moved])
    assert report.results[0].status == "unchanged"
    assert report.results[0].reason.startswith("same content as")


def test_search_finds_the_spoken_fact(indexed):
    kb, path, spans = indexed
    result = kb.search("how are houses heated", k=3)
    top = result.hits[0]
    assert top.path == str(path)
    assert _overlap(top.start, top.end, spans[2].start, spans[2].end) > 0
    with pytest.raises(VragError, match="empty query"):
        kb.search("   ")
