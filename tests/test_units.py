"""Small pure functions: speech splitting, OCR text repair, granularity units, ids, audio chunking."""

from __future__ import annotations

import numpy as np

from vrag.backends.asr import SpeechSegment
from vrag.indexers.granularity import units
from vrag.indexers.ocr import _same_line, normalise
from vrag.indexers.ocr_text import restore_spaces
from vrag.indexers.speech_split import split_speech
from vrag.media.audio import SAMPLE_RATE, AudioChunks
from vrag.schema import Segment, VideoRef


def _words(spec):
    return [{"word": w, "start": s, "end": e, "p": 0.9} for w, s, e in spec]


def test_long_speech_is_cut_into_sentences_and_short_stays_whole():
    seg = SpeechSegment(0.0, 9.0, "x", _words([
        ("Roasting", 0.0, 0.6), ("takes", 0.6, 1.0), ("twelve", 1.0, 1.5), ("minutes.", 1.5, 3.0),
        ("Then", 3.2, 3.5), ("it", 3.5, 3.6), ("cools.", 3.6, 4.0),
        ("Finally", 6.0, 6.5), ("we", 6.5, 6.7), ("grind", 6.7, 7.2), ("it.", 7.2, 9.0),
    ]))
    pieces = list(split_speech(seg))
    assert [p.text for p in pieces] == ["Roasting takes twelve minutes.", "Then it cools.", "Finally we grind it."]
    assert [(p.start, p.end) for p in pieces] == [(0.0, 3.0), (3.2, 4.0), (6.0, 9.0)]
    short = SpeechSegment(0.0, 2.0, "Hello there.", _words([("Hello", 0.0, 1.0), ("there.", 1.0, 2.0)]))
    assert list(split_speech(short)) == [short]


def test_speech_without_punctuation_is_capped_in_length():
    words = _words([(f"w{i}", i * 0.5, i * 0.5 + 0.4) for i in range(80)])  # 40 s, no full stop
    pieces = list(split_speech(SpeechSegment(0.0, 40.0, "x", words)))
    assert len(pieces) >= 3 and all(p.end - p.start <= 15.0 for p in pieces)
    assert sum(len(p.words) for p in pieces) == 80


def test_ocr_line_matching_and_space_repair():
    assert normalise("  Coffee-Roasting: 196°C ") == "coffee roasting 196 c"
    assert _same_line("coffee roasting temperatures", "coffee roastinq temperatures")
    assert not _same_line("light roast", "dark roast")
    assert restore_spaces("TwinStudytoControlforGenetics&EarlyLifeRiskFactors:") == (
        "Twin Study to Control for Genetics&Early Life Risk Factors:"
    )
    assert restore_spaces("Plassman...Yaffe, Under Review") == "Plassman...Yaffe, Under Review"
    # a word run into its figure is set apart (search finds "live"); a code that is no word stays whole
    assert restore_spaces("LIVE12:17 / SUN6:15PM / Wed18:38") == "LIVE 12:17 / SUN 6:15PM / Wed 18:38"
    assert restore_spaces("SPF30 / B5 / display-2monitors.png") == "SPF30 / B5 / display-2monitors.png"
    # two common words run together, where the case shows the lost space (the sunscreen card, the GNOME dialog)
    assert restore_spaces("*GREAT FOR NORMAL TO OILYSKIN") == "*GREAT FOR NORMAL TO OILY SKIN"
    assert restore_spaces("KeepThis Configuration") == "Keep This Configuration"
    # names stay whole: no two common words, written as a name, or a place name's ending; known words too
    for name in ("Tiffany Antopolski", "Walt Grealis", "Unionville", "UNIONVILLE", "YouTube", "SUNSCREEN"):
        assert restore_spaces(name) == name


def _video(duration):
    return VideoRef("v" * 32, "x.mp4", "/x.mp4", 1, 1, duration, True, True)


def test_units_cover_the_video_at_three_granularities():
    v = _video(700.0)
    fine = [
        Segment(v.video_id, "asr", 10, 14, "the first words", "t"),
        Segment(v.video_id, "ocr", 5, 40, "SLIDE TITLE", "t"),
        Segment(v.video_id, "asr", 650, 655, "the last words", "t"),
    ]
    out = units(v, [(0.0, 400.0), (400.0, 700.0)], fine, 30.0, 300.0, "shots@1")
    shots = [u for u in out if u.modality == "shot"]
    windows = [u for u in out if u.modality == "window"]
    chapters = [u for u in out if u.modality == "chapter"]
    assert [(s.start, s.end) for s in shots] == [(0.0, 400.0), (400.0, 700.0)]
    assert shots[0].text == "the first words\nSLIDE TITLE" and shots[1].text == "the last words"
    assert [(w.start, w.end) for w in windows] == [(0.0, 30.0), (30.0, 60.0), (630.0, 660.0)]
    assert [(c.start, c.end) for c in chapters] == [(0.0, 300.0), (600.0, 700.0)]  # the 10 s tail folds in


def test_segment_ids_are_content_derived():
    a = Segment("v1", "asr", 1.0, 2.0, "hello", "p")
    assert a.segment_id == Segment("v1", "asr", 1.0, 2.0, "hello", "p").segment_id
    assert a.segment_id != Segment("v1", "asr", 1.0, 2.0, "hello!", "p").segment_id
    assert a.segment_id != Segment("v2", "asr", 1.0, 2.0, "hello", "p").segment_id
    row = a.to_row()
    assert Segment.from_row(row).segment_id == a.segment_id and "hello" in repr(a)


def test_audio_chunks_cut_at_the_quietest_point(tmp_path):
    import wave

    rate, loud = SAMPLE_RATE, 0.5
    t = np.arange(int(30 * rate)) / rate
    signal = loud * np.sin(2 * np.pi * 220 * t)
    signal[int(17.0 * rate): int(17.6 * rate)] = 0.0  # a pause inside the search window
    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((signal * 32767).astype("<i2").tobytes())
    chunks = list(AudioChunks(str(path), chunk_seconds=20.0, search_seconds=5.0))
    assert len(chunks) == 2
    (o1, a1), (o2, a2) = chunks
    cut = len(a1) / rate
    assert o1 == 0.0 and 17.0 <= cut <= 17.6 and abs(o2 - cut) < 1e-6
    assert abs((len(a1) + len(a2)) / rate - 30.0) < 0.05
