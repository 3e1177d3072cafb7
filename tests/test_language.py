"""Speech in other languages: the language on every speech record, linked English renderings, English
questions finding non-English speech, full text on the original words, the graph reading the English.

Real models throughout (the multilingual Whisper base, asr_model='base', set explicitly: the suite's
default is tiny.en). Generated media: espeak-ng sentences with known text in French, Spanish, German
and English (tests/support/synth.py SPOKEN). Real media: the French song of ../shared/eval/batch2 with
human French captions and their English translation (skipped when absent).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import eval_file
from support.synth import SPOKEN, make_speech

from benchmarks.bench_asr import vtt_text, wer
from vrag import KnowledgeBase
from vrag.backends.asr import SpeechSegment, _LanguageTap
from vrag.indexers.asr import _windows, attach_english
from vrag.indexers.graph import graph_texts
from vrag.retrievers.evidence import merge_adjacent
from vrag.retrievers.pieces import bilingual, read_pieces
from vrag.schema import Hit, Segment

#: espeak-ng's robotic voices are hard for Whisper base's language detector (its French reads as
#: Latin or Thai without a hint), so the generated media name the candidate languages.
CANDIDATES = "en,fr,es,de"
#: Word error rates measured on these clips with Whisper base (bench-asr-languages): espeak's French is
#: the least natural voice and Whisper base gets most of its words wrong (0.86; slower or other French
#: voices 0.75-1.06), so its bound only catches a collapse; the real French song below holds the
#: quality bound (0.6). The others are bounded a little above their measured values.
WER_MAX = {"fr": 0.92, "es": 0.4, "de": 0.45, "en": 0.15}
FR_SONG = "batch2/ableplayer_song_fr.mp3"
FR_CAPTIONS = "batch2/annotations/ableplayer_frenchsong_captions_fr.vtt.txt"


def _rec(text: str, start: float, end: float, **meta) -> Segment:
    return Segment(video_id="v", modality="asr", start=start, end=end, text=text, producer="p", meta=meta)


# -- units: no models ------------------------------------------------------------------------------
def test_english_words_go_to_the_record_whose_span_holds_them():
    records = [_rec("Bonjour à tous.", 0.0, 2.0, language="fr"), _rec("Il fait beau.", 2.5, 5.0, language="fr"),
               _rec("Hello.", 6.0, 7.0, language="en")]
    english = [SpeechSegment(0.0, 5.0, "Hello everyone. The weather is nice.", words=[
        {"word": w, "start": s, "end": e} for w, s, e in [("Hello", 0.1, 0.6), ("everyone.", 0.7, 1.5),
                                                          ("The", 2.6, 2.8), ("weather", 2.9, 3.4),
                                                          ("is", 3.5, 3.6), ("nice.", 3.7, 4.5)]], language="en")]
    out = attach_english(records, english, "p:translate")
    assert [(r.text, r.start, r.end, r.meta["translation_of"]) for r in out] == [
        ("Hello everyone.", 0.0, 2.0, records[0].segment_id), ("The weather is nice.", 2.5, 5.0, records[1].segment_id)]
    assert all(r.meta["language"] == "en" and r.modality == "asr" for r in out)
    assert out[0].meta["original"] == "Bonjour à tous." and records[0].meta["english"] == "Hello everyone."
    assert "english" not in records[2].meta  # English speech gets no rendering


def test_translation_windows_pack_segments_of_one_language_up_to_30_seconds():
    whole = [(SpeechSegment(float(s), float(s) + 8, "x", language=lang), False)
             for s, lang in [(0, "fr"), (9, "fr"), (18, "fr"), (27, "fr"), (40, "en"), (50, "de")]]
    windows = _windows(whole, 29.5)
    assert set(windows) == {("fr", False), ("de", False)}  # English is never translated
    assert all(b - a <= 29.5 for spans in windows.values() for a, b in spans)
    french = windows[("fr", False)]
    assert len(french) == 2 and french[0][0] == 0.0 and french[1][1] == pytest.approx(35.3)


class _Ranked:
    def __init__(self, ranked):
        self.ranked = ranked

    def detect_language(self, *_args):
        return [list(self.ranked)]


def test_window_language_stays_unless_the_detector_is_sure_and_keeps_to_candidates():
    tap = _LanguageTap(_Ranked([("<|cy|>", 0.3), ("<|en|>", 0.25), ("<|fr|>", 0.1)]))
    tap.detect_language(None)
    assert tap.last == ["cy"]  # no language of the call yet: the detector's choice
    tap.prefer = "en"
    tap.detect_language(None)
    assert tap.last == ["en"]  # an unsure switch to Welsh is not taken
    sure = _LanguageTap(_Ranked([("<|fr|>", 0.8), ("<|en|>", 0.1)]))
    sure.prefer = "en"
    sure.detect_language(None)
    assert sure.last == ["fr"]
    narrowed = _LanguageTap(_Ranked([("<|la|>", 0.23), ("<|th|>", 0.13), ("<|fr|>", 0.09)]), ("en", "fr"))
    narrowed.detect_language(None)
    assert narrowed.last == ["fr"]


def test_graph_reads_the_english_rendering_under_the_original_id():
    original = _rec("Marie Curie a découvert le polonium à Paris.", 0.0, 4.0, language="fr", avg_logprob=-0.3)
    english = _rec("Marie Curie discovered polonium in Paris.", 0.0, 4.0, language="en", avg_logprob=-0.3,
                   translation_of=original.segment_id)
    said = _rec("Pierre Curie worked with her in the laboratory.", 5.0, 8.0, language="en", avg_logprob=-0.2)
    assert graph_texts([original, english, said], []) == [
        (original.segment_id, english.text), (said.segment_id, said.text)]


def test_hits_and_quotes_show_the_original_with_its_english():
    original = _rec("J'ai faim de l'aubergine.", 6.9, 13.3, language="fr", english="I am hungry for eggplant.")
    english = _rec("I am hungry for eggplant.", 6.9, 13.3, language="en", translation_of=original.segment_id,
                   original=original.text, source_language="fr")
    assert Hit(original, 0.5, "words").to_json()["language"] == "fr"
    assert Hit(_rec("plain", 0, 1), 0.5, "words").to_json()["language"] == ""
    both = "J'ai faim de l'aubergine. (fr; in English: I am hungry for eggplant.)"
    assert bilingual(original) == bilingual(english) == both
    assert [p.text for p in read_pieces([Hit(english, 0.9, "similarity"), Hit(original, 0.8, "words")])] == [both]
    # merged with the next line into one hit, each line is still quoted with its English
    later = _rec("C'est un chanson français.", 13.5, 16.0, language="fr", english="This is a French song.")
    (merged,) = merge_adjacent([Hit(english, 0.9, "similarity"), Hit(later, 0.8, "words")])
    assert [p.text for p in read_pieces([merged])] == [
        both, "C'est un chanson français. (fr; in English: This is a French song.)"]


# -- real models on generated speech ---------------------------------------------------------------
@pytest.fixture(scope="module")
def spoken_kb(tmp_path_factory):
    """One knowledge base of four espeak-ng clips (fr, es, de, en) indexed with Whisper base, auto language."""
    folder = tmp_path_factory.mktemp("spoken")
    timelines = {lang: make_speech(folder / f"{lang}.wav", [t for t, _ in SPOKEN[lang]], lang)
                 for lang in ("fr", "es", "de")}
    timelines["en"] = make_speech(folder / "en.wav", [e for _, e in SPOKEN["de"]], "en-us")
    kb = KnowledgeBase(folder / "kb", stages=("asr",), asr_model="base", asr_languages=CANDIDATES)
    report = kb.index([folder / f"{lang}.wav" for lang in timelines])
    assert report.ok, [(r.path, r.reason) for r in report.results]
    records = {Path(v["path"]).stem: kb.segments(v["video_id"], "asr") for v in kb.status()["videos"]}
    return kb, records, timelines


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["fr", "es", "de", "en"])
def test_generated_speech_carries_its_language_and_bounded_wer(spoken_kb, lang):
    kb, records, timelines = spoken_kb
    originals = [r for r in records[lang] if "translation_of" not in r.meta]
    assert originals and {r.meta["language"] for r in originals} == {lang}
    said = " ".join(r.text for r in originals)
    error = wer(" ".join(t for _, _, t in timelines[lang]), said, lang)
    print(f"WER {lang}: {error:.3f}")
    assert error <= WER_MAX[lang], (lang, round(error, 3), said)
    renderings = [r for r in records[lang] if "translation_of" in r.meta]
    if lang == "en":
        assert not renderings  # English is not translated
        return
    by_id = {r.segment_id: r for r in originals}
    # espeak's French comes back from Whisper base's translate task as a loop ("I'm going to take you to
    # the next scene." four times), which is dropped: no rendering rather than an invented one
    assert renderings or lang == "fr"
    assert all(r.meta["language"] == "en" for r in renderings)
    for r in renderings:  # linked, same span, both directions
        source = by_id[r.meta["translation_of"]]
        assert (r.start, r.end) == (source.start, source.end) and source.meta["english"] == r.text


@pytest.mark.slow
def test_english_question_finds_spanish_speech_and_a_german_word_finds_the_german(spoken_kb):
    kb, _records, timelines = spoken_kb
    start, end, _ = timelines["es"][1]  # "Los niños juegan al fútbol en el parque ..."
    hits = kb.search("where do the children play football after school?", k=5).hits
    spanish = [h for h in hits if Path(h.path).stem == "es" and h.start < end and h.end > start]
    assert spanish, [(h.path, h.text) for h in hits]
    assert any(h.segment.meta.get("translation_of") for h in spanish)  # found through its English rendering
    answer = kb.ask("where do the children play football after school?")
    assert "niños" in answer.answer.text and "park" in answer.answer.text.lower()  # original and English quoted
    top = kb.search("Skifahren", k=3).hits[0]
    assert Path(top.path).stem == "de" and top.segment.meta["language"] == "de" and "Skifahren" in top.text
    status = kb.status()
    assert set(status["languages"]) == {"fr", "es", "de", "en"}
    assert {Path(v["path"]).stem: v["languages"] for v in status["videos"]}["es"] == ["es"]


def test_asr_language_forces_the_language(tmp_path):
    from faster_whisper import decode_audio

    from vrag.backends.asr import FasterWhisperASR
    from vrag.config import Config

    make_speech(tmp_path / "es.wav", [SPOKEN["es"][1][0]], "es")
    audio = decode_audio(str(tmp_path / "es.wav"))
    forced = list(FasterWhisperASR(Config.load(asr_model="base", asr_language="it")).transcribe(audio))
    assert forced and {s.language for s in forced} == {"it"}
    auto = list(FasterWhisperASR(Config.load(asr_model="base", asr_languages=CANDIDATES)).transcribe(audio))
    assert {s.language for s in auto} == {"es"}


# -- the real French song --------------------------------------------------------------------------
@pytest.mark.slow
def test_french_song_is_french_close_to_its_captions_and_found_by_english_questions(tmp_path):
    song = eval_file(FR_SONG)
    kb = KnowledgeBase(tmp_path / "kb", stages=("asr",), asr_model="base")
    assert kb.index([song]).ok
    records = kb.segments(None, "asr")
    originals = [r for r in records if "translation_of" not in r.meta]
    assert {r.meta["language"] for r in originals} == {"fr"}
    assert any(r.meta.get("translation_of") for r in records)
    error = wer(vtt_text(eval_file(FR_CAPTIONS)), " ".join(r.text for r in originals), "fr")
    assert error <= 0.6, round(error, 3)
    # freedom fries / freedom bread: 1:14-1:24 and 1:52-1:55 in the human captions
    hits = kb.search("why won't he call them freedom fries?", k=5).hits
    assert any(h.start < 84 and h.end > 73 or h.start < 116 and h.end > 112 for h in hits), [(h.start, h.text) for h in hits]
    hits = kb.search("what kind of sandwich is he hungry for?", k=5).hits
    assert any(h.start < 128.5 and h.end > 124.9 for h in hits), [(h.start, h.text) for h in hits]
    assert kb.search("liberté", k=3).hits[0].segment.meta["language"] == "fr"  # full text on the French words
    assert kb.status()["languages"] == ["fr"]
