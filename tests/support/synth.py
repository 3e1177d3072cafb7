"""Synthetic lecture-style media with known content at known times.

Builds test, demo and benchmark files whose ground truth is known exactly:
which slide is on screen when, which words are spoken when, and where the
hard cuts are.  Slides are rendered with Pillow, narration is spoken by
``espeak-ng`` and everything is muxed by a single ``ffmpeg`` run per file.

Timing model (all times are seconds in the output file):

* every slide lasts a whole number of video frames, so slide boundaries are
  exact frame boundaries;
* a slide lasts ``max(min_seconds, gap + narration + gap)`` rounded up to the
  next frame; its narration (with espeak's own leading/trailing silence
  trimmed) starts exactly ``gap`` seconds after the slide starts;
* all audio is built at :data:`SAMPLE_RATE` Hz from exact sample counts, so
  the audio track and the video track have the same length.

Only the standard library is imported at module import time; numpy, Pillow
and scikit-image are imported inside the functions that need them.

Example::

    from tests.support.synth import make_lecture, sample_slides
    spans = make_lecture(sample_slides(), "/tmp/sample.mp4")
    for span in spans:
        print(span.slide.title, span.start, span.end)
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import random
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

__all__ = [
    "SAMPLE_RATE",
    "Slide",
    "SlideSpan",
    "SynthError",
    "Turn",
    "TurnSpan",
    "VOICES",
    "dialogue_turns",
    "make_dialogue",
    "lecture_slides",
    "make_color_video",
    "make_lecture",
    "make_tone",
    "make_speech",
    "SPOKEN",
    "render_slide",
    "sample_slides",
]

SAMPLE_RATE = 22050
"""Sample rate (Hz) of all generated audio; espeak-ng's native rate."""

Color = Union[str, tuple[int, int, int]]
"""A Pillow colour (name, ``#rrggbb`` or RGB tuple) or a pattern name."""

_AUDIBLE = 200  # int16 amplitude above which a speech sample counts as audible
_WORDS_PER_SECOND = 2.3  # measured espeak-ng en-us rate at 150 wpm on prose
_BASE_SIZE = (1280, 720)  # layout sizes below are in pixels at this size
_INK_DARK = (25, 25, 35)
_INK_LIGHT = (245, 245, 245)
_ACCENT = (40, 90, 170)

_AAC = ["-c:a", "aac", "-b:a", "64k", "-ac", "1"]
_H264 = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage",
         "-crf", "23", "-pix_fmt", "yuv420p"]
_VP9 = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
        "-row-mt", "1", "-crf", "32", "-b:v", "0", "-pix_fmt", "yuv420p"]
_MP4_FLAGS = ["-movflags", "+faststart"]
_VIDEO_CODECS: dict[str, tuple[list[str], list[str]]] = {
    ".mp4": (_H264 + _MP4_FLAGS, _AAC),
    ".mov": (_H264 + _MP4_FLAGS, _AAC),
    ".mkv": (_H264, _AAC),
    ".webm": (_VP9, ["-c:a", "libopus", "-b:a", "48k", "-ac", "1"]),
}
_AUDIO_CODECS: dict[str, list[str]] = {
    ".wav": ["-c:a", "pcm_s16le"],
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    ".flac": ["-c:a", "flac"],
    ".m4a": _AAC + _MP4_FLAGS,
    ".ogg": ["-c:a", "libvorbis", "-q:a", "3"],
    ".opus": ["-c:a", "libopus", "-b:a", "48k"],
}


class SynthError(Exception):
    """A required tool is missing or failed; the message is one line."""


@dataclass
class Slide:
    """One slide of a synthetic lecture.

    ``photo`` names an image bundled with scikit-image (``"astronaut"``,
    ``"coffee"``, ``"chelsea"``, ``"camera"``, ``"rocket"``, ...); it is read
    from the installed package, never downloaded.  An empty ``narration``
    gives a silent slide.
    """

    title: str
    bullets: list[str] = field(default_factory=list)
    narration: str = ""
    photo: str | None = None
    min_seconds: float = 0.0
    background: tuple[int, int, int] = (255, 255, 255)


@dataclass
class SlideSpan:
    """When a slide is on screen and when its narration is audible.

    For a silent slide ``speech_start == speech_end == start``.
    """

    slide: Slide
    start: float
    end: float
    speech_start: float
    speech_end: float


# --------------------------------------------------------------------------
# Public builders
# --------------------------------------------------------------------------


def make_lecture(
    slides: Sequence[Slide],
    out_path: str | Path,
    *,
    size: tuple[int, int] = (1280, 720),
    fps: float = 25,
    voice: str = "en-us",
    words_per_minute: int = 150,
    gap: float = 0.6,
    with_audio: bool = True,
    audio_only: bool = False,
) -> list[SlideSpan]:
    """Render ``slides`` with narration into one media file at ``out_path``.

    The container and codecs follow the extension: ``.mp4``/``.mov``/``.mkv``
    get H.264 + AAC, ``.webm`` gets VP9 + Opus.  With ``audio_only=True`` only
    the narration track is written (``.wav``/``.mp3``/``.flac``/``.m4a``/
    ``.ogg``/``.opus``); with ``with_audio=False`` the video has no audio
    stream (narration is still synthesised, so timing is unchanged and the
    spans say where it would be).  Returns one :class:`SlideSpan` per slide,
    in order.  Raises :class:`SynthError` if espeak-ng or ffmpeg is missing
    or fails, :class:`ValueError` for an unsupported extension or odd size.
    """
    import numpy as np

    if not slides:
        raise ValueError("make_lecture needs at least one slide")
    out = _checked_output(out_path, audio_only, size)
    with tempfile.TemporaryDirectory(prefix="vrag-synth-") as tmp:
        work = Path(tmp)
        speech = [
            _speak(s.narration, work / f"speech_{i:03d}.wav", voice, words_per_minute)
            if s.narration.strip() else np.zeros(0, np.int16)
            for i, s in enumerate(slides)
        ]
        frames = [
            _frames_for(max(s.min_seconds, len(a) / SAMPLE_RATE + 2 * gap), fps, math.ceil)
            for s, a in zip(slides, speech)
        ]
        spans, track = _lay_out(slides, speech, frames, fps, gap)
        wav = _write_wav(work / "narration.wav", track)
        if audio_only:
            _encode_audio(wav, out, work)
            return spans
        stills = [_save_png(render_slide(s, size), work / f"slide_{i:03d}.png")
                  for i, s in enumerate(slides)]
        _encode_video(list(zip(stills, frames)), fps, wav if with_audio else None, out, work)
    return spans


@dataclass(frozen=True)
class Turn:
    """One speaker turn of a generated dialogue: who (a key of :data:`VOICES`) says what."""

    speaker: str
    text: str


@dataclass(frozen=True)
class TurnSpan:
    """Where a :class:`Turn` is audible in the output file (seconds)."""

    turn: Turn
    start: float
    end: float


#: Distinct espeak-ng voices for generated dialogue: (voice, pitch 0-99, words per minute).
VOICES: dict[str, tuple[str, int, int]] = {
    "A": ("en-us+m1", 20, 160),
    "B": ("en+f2", 70, 150),
    "C": ("en+Andy", 50, 170),
    "D": ("en+f4", 85, 145),
}


def make_dialogue(turns: Sequence[Turn], out_path: str | Path, *, gap: float = 0.4, lead: float = 0.5,
                  size: tuple[int, int] = (320, 240), fps: float = 10) -> list[TurnSpan]:
    """Speak ``turns`` with the :data:`VOICES` of their speakers, ``gap`` seconds apart, into one file.

    ``.wav``/``.mp3``/... give audio only; ``.mp4``/``.mkv``/``.webm`` a plain grey picture with it.
    Returns where each turn is audible (espeak's own silence trimmed), in order."""
    import numpy as np

    out = _checked_output(out_path, Path(out_path).suffix.lower() in _AUDIO_CODECS, size)
    audio_only = out.suffix.lower() in _AUDIO_CODECS
    with tempfile.TemporaryDirectory(prefix="vrag-synth-") as tmp:
        work = Path(tmp)
        pieces, spans, t = [np.zeros(round(lead * SAMPLE_RATE), np.int16)], [], lead
        for i, turn in enumerate(turns):
            voice, pitch, wpm = VOICES[turn.speaker]
            audio = _speak(turn.text, work / f"turn_{i:03d}.wav", voice, wpm, pitch)
            spans.append(TurnSpan(turn, t, t + len(audio) / SAMPLE_RATE))
            pieces += [audio, np.zeros(round(gap * SAMPLE_RATE), np.int16)]
            t += (len(audio) + round(gap * SAMPLE_RATE)) / SAMPLE_RATE
        pieces.append(np.zeros(round(lead * SAMPLE_RATE), np.int16))
        track = np.concatenate(pieces)
        wav = _write_wav(work / "dialogue.wav", track)
        if audio_only:
            _encode_audio(wav, out, work)
        else:
            still = _save_png(_shot_image("gray", size), work / "still.png")
            _encode_video([(still, max(1, math.ceil(len(track) / SAMPLE_RATE * fps)))], fps, wav, out, work)
    return spans


_DIALOGUE_LINES = (
    "The harbour bridge was closed this morning because of high winds.",
    "Traffic was diverted through the tunnel, which added twenty minutes.",
    "Did the ferries keep running during the storm?",
    "Only the large ones, the small water taxis stayed in port all day.",
    "The council says the repairs to the railing will take two weeks.",
    "That sounds optimistic, last year the same job took a month.",
    "Engineers will inspect the cables again on Friday afternoon.",
    "People who cycle to work are asking for a temporary lane.",
    "The weather service expects calmer conditions by the weekend.",
    "Schools near the waterfront opened an hour late today.",
    "Fishermen reported the biggest waves in a decade.",
    "The museum moved its outdoor exhibition inside for safety.",
)


def dialogue_turns(speakers: Sequence[str], n_turns: int, seed: int = 0) -> list[Turn]:
    """``n_turns`` turns among ``speakers`` (no one follows themself), each one or two known sentences."""
    rng = random.Random(seed)
    turns, last = [], None
    for i in range(n_turns):
        who = rng.choice([s for s in speakers if s != last]) if i >= len(speakers) else speakers[i]
        text = " ".join(rng.sample(_DIALOGUE_LINES, rng.choice((1, 2))))
        turns.append(Turn(who, text))
        last = who
    return turns


def make_tone(out_path: str | Path, seconds: float, freq: float = 440.0, *,
              music: bool = True) -> Path:
    """Write a speech-free audio file of ``seconds`` length.

    ``music=True`` gives a plucked major arpeggio over a I-IV-V-I bass line
    rooted at ``freq``; ``music=False`` a plain sine tone.  The format follows
    the extension as for ``make_lecture(audio_only=True)``.
    """
    out = Path(out_path)
    _check_audio_format(out)
    with tempfile.TemporaryDirectory(prefix="vrag-synth-") as tmp:
        work = Path(tmp)
        wav = _write_wav(work / "tone.wav", _tone(round(seconds * SAMPLE_RATE), freq, music))
        _encode_audio(wav, out, work)
    return out


#: Sentences with known text per language for :func:`make_speech` (espeak-ng voices fr, es, de),
#: each with its English meaning (what an English question about it would say).
SPOKEN: dict[str, list[tuple[str, str]]] = {
    "fr": [
        ("Le boulanger ouvre sa boutique tous les matins à six heures.",
         "The baker opens his shop every morning at six o'clock."),
        ("Ma grand-mère cultive des tomates et des courgettes dans son jardin.",
         "My grandmother grows tomatoes and zucchini in her garden."),
        ("Le train pour Marseille part de la gare avec vingt minutes de retard.",
         "The train to Marseille leaves the station twenty minutes late."),
    ],
    "es": [
        ("El médico trabaja en el hospital de la ciudad desde hace diez años.",
         "The doctor has worked at the city hospital for ten years."),
        ("Los niños juegan al fútbol en el parque después de la escuela.",
         "The children play football in the park after school."),
        ("Mañana vamos a visitar el museo de arte con nuestros amigos.",
         "Tomorrow we are going to visit the art museum with our friends."),
    ],
    "de": [
        ("Der Bäcker verkauft jeden Morgen frisches Brot und Brötchen.",
         "The baker sells fresh bread and rolls every morning."),
        ("Meine Schwester wohnt seit drei Jahren in einer kleinen Wohnung in Berlin.",
         "My sister has lived in a small flat in Berlin for three years."),
        ("Im Winter fahren wir gern mit dem Zug in die Berge zum Skifahren.",
         "In winter we like to take the train to the mountains to go skiing."),
    ],
}


def make_speech(out_path: str | Path, sentences: Sequence[str], voice: str, *, gap: float = 1.0,
                words_per_minute: int = 140) -> list[tuple[float, float, str]]:
    """Write an audio file of ``sentences`` spoken by the espeak-ng ``voice`` ("fr", "es", "de", "en-us"),
    ``gap`` seconds of silence between them; return each sentence's (start, end, text) in seconds.

    The format follows the extension as for ``make_lecture(audio_only=True)``.
    """
    import numpy as np

    out = Path(out_path)
    _check_audio_format(out)
    timeline: list[tuple[float, float, str]] = []
    pieces: list[np.ndarray] = []
    silence = np.zeros(round(gap * SAMPLE_RATE), np.int16)
    with tempfile.TemporaryDirectory(prefix="vrag-synth-") as tmp:
        work = Path(tmp)
        at = len(silence)
        pieces.append(silence)
        for i, text in enumerate(sentences):
            samples = _speak(text, work / f"s{i}.wav", voice, words_per_minute)
            timeline.append((at / SAMPLE_RATE, (at + len(samples)) / SAMPLE_RATE, text))
            pieces += [samples, silence]
            at += len(samples) + len(silence)
        wav = _write_wav(work / "speech.wav", np.concatenate(pieces))
        _encode_audio(wav, out, work)
    return timeline


def make_color_video(
    out_path: str | Path,
    colors_and_seconds: Sequence[tuple[Color, float]],
    size: tuple[int, int] = (640, 360),
    fps: float = 25,
    with_audio: bool = False,
) -> list[tuple[float, float]]:
    """Write a video of full-frame shots separated by hard cuts.

    Each item is ``(color, seconds)``; ``color`` is a Pillow colour, one of
    the static patterns ``"bars"``, ``"checker"``, ``"gradient"``, or
    ``"photo:NAME"`` for a bundled scikit-image photo shown full frame.  Shot
    lengths are rounded to whole frames (at least one).  ``with_audio`` adds
    a music track (see :func:`make_tone`).  Returns ``(start, end)`` of every
    shot, so the cut times are the starts of all shots but the first.
    """
    if not colors_and_seconds:
        raise ValueError("make_color_video needs at least one shot")
    out = Path(out_path)
    _check_video_format(out, size)
    frames = [_frames_for(seconds, fps, round) for _, seconds in colors_and_seconds]
    bounds = _boundaries(frames)
    with tempfile.TemporaryDirectory(prefix="vrag-synth-") as tmp:
        work = Path(tmp)
        stills = [_save_png(_shot_image(color, size), work / f"shot_{i:03d}.png")
                  for i, (color, _) in enumerate(colors_and_seconds)]
        wav = None
        if with_audio:
            samples = _sample_at(bounds[-1], fps)
            wav = _write_wav(work / "music.wav", _tone(samples, 330.0, music=True))
        _encode_video(list(zip(stills, frames)), fps, wav, out, work)
    return [(a / fps, b / fps) for a, b in zip(bounds, bounds[1:])]


def render_slide(slide: Slide, size: tuple[int, int] = (1280, 720)) -> Image.Image:
    """Render one slide as an RGB Pillow image.

    Title at the top (~56 px at 1280x720) over an accent rule, bullets below
    (~40 px), the photo fitted into the right half if given.  Sizes scale with
    ``size``; text is wrapped to its column and clipped at the bottom.
    """
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    width, height = size
    scale = min(width / _BASE_SIZE[0], height / _BASE_SIZE[1])
    margin = round(64 * scale)
    ink = _ink_for(slide.background)
    image = Image.new("RGB", size, slide.background)
    draw = ImageDraw.Draw(image)

    title_font = ImageFont.load_default(size=max(8, round(56 * scale)))
    y = margin
    for line in _wrap(slide.title, title_font, width - 2 * margin):
        draw.text((margin, y), line, font=title_font, fill=ink,
                  stroke_width=round(scale), stroke_fill=ink)
        y += round(56 * scale * 1.25)
    y += round(8 * scale)
    draw.line([(margin, y), (width - margin, y)], fill=_ACCENT, width=max(2, round(4 * scale)))
    top = y + round(40 * scale)

    column_right = width - margin
    if slide.photo:
        left = width // 2 + margin // 2
        photo = ImageOps.contain(_load_photo(slide.photo), (width - margin - left, height - margin - top))
        image.paste(photo, (left + (width - margin - left - photo.width) // 2, top))
        column_right = width // 2 - margin // 2

    _draw_bullets(draw, slide.bullets, (margin, top, column_right), scale, ink)
    return image


# --------------------------------------------------------------------------
# Content
# --------------------------------------------------------------------------


def sample_slides() -> list[Slide]:
    """The ~50 s, four-slide demo lecture about coffee and an astronaut photo.

    Spoken and on-screen words are deliberately different so speech search
    (ASR) and slide search (OCR) can be tested separately:

    * spoken only: "first crack", "popping sound", "Eileen" (the photo's
      name tag and the summary slide do show "Collins"), "first woman to
      pilot the Space Shuttle", "thank you for watching";
    * on screen only: "Dark roast: 225 C", "Medium roast: 210 C",
      "Portrait from the NASA archives", "STS-63",
      "Made with espeak-ng and Pillow";
    * both: "Light roast: 196 C" is shown while "one hundred ninety six
      degrees Celsius" is said; photos "coffee" (slide 2), "astronaut"
      (slide 3).
    """
    return [
        Slide(
            title="Welcome to vrag",
            bullets=["A tiny lecture about coffee", "and a famous space photo",
                     "Search speech, slides and images"],
            narration="Hello, and welcome to this short demonstration lecture. Today we "
                      "will talk about roasting coffee beans, and then look at a famous "
                      "photograph from the space program.",
            min_seconds=6.0,
        ),
        Slide(
            title="Coffee Roasting Temperatures",
            bullets=["Light roast: 196 C", "Medium roast: 210 C", "Dark roast: 225 C"],
            narration="Light roasts are finished at about one hundred ninety six degrees "
                      "Celsius. Medium roasts go a little further, and dark roasts are "
                      "taken even hotter. Listen for the first crack, a popping sound that "
                      "tells the roaster the beans are nearly done.",
            photo="coffee",
        ),
        Slide(
            title="The Astronaut Photo",
            bullets=["Portrait from the NASA archives", "Public domain image"],
            narration="This photograph shows Eileen Collins. In nineteen ninety five she "
                      "became the first woman to pilot the Space Shuttle, and in nineteen "
                      "ninety nine the first woman to command it.",
            photo="astronaut",
        ),
        Slide(
            title="Summary",
            bullets=["Roast temperature sets the flavour", "Collins flew mission STS-63",
                     "Made with espeak-ng and Pillow"],
            narration="To sum up, hotter roasts give darker coffee, and a NASA astronaut "
                      "made history at the controls of the shuttle. Thank you for watching.",
        ),
    ]


def lecture_slides(n: int, seconds_each: float = 30.0, seed: int = 0) -> list[Slide]:
    """``n`` deterministic, varied lecture slides of ~``seconds_each`` each.

    Topics come from a built-in bank of 20 (reused with new part numbers when
    ``n > 20``) in an order chosen by ``seed``.  Slide ``i`` is titled
    ``"Lecture part {i+1}: {topic}"``, its narration opens with the same
    words followed by whole sentences about the topic, as many as fit in
    ``seconds_each`` at the default 150 wpm; ``min_seconds=seconds_each`` so
    with default settings every slide lasts exactly ``seconds_each`` (rounded
    to a frame).  Every 4th slide (parts 4, 8, ...) has a photo.
    """
    order = list(range(len(_TOPICS)))
    random.Random(seed).shuffle(order)
    photos = ("astronaut", "coffee", "chelsea", "rocket", "camera")
    # Leave room for the default 0.6 s gaps plus 1 s of slack for slow words.
    budget = math.floor((seconds_each - 2 * 0.6 - 1.0) * _WORDS_PER_SECOND)
    slides = []
    for i in range(n):
        topic, bullets, paragraph = _TOPICS[order[i % len(order)]]
        title = f"Lecture part {i + 1}: {topic}"
        slides.append(Slide(
            title=title,
            bullets=list(bullets),
            narration=_fill_narration(f"{title}.", paragraph, budget),
            photo=photos[(i // 4) % len(photos)] if i % 4 == 3 else None,
            min_seconds=seconds_each,
        ))
    return slides


def _fill_narration(opening: str, paragraph: str, budget: int) -> str:
    """``opening`` plus the sentences of ``paragraph`` that fit in ``budget`` words.

    The paragraph is cycled (so long slides repeat it) and sentences too long
    for the remaining budget are skipped, keeping the slide well filled.
    """
    sentences = re.split(r"(?<=[.!?])\s+", paragraph)
    parts, words = [opening], len(opening.split())
    for sentence in itertools.islice(itertools.cycle(sentences), 10 * len(sentences)):
        if words + len(sentence.split()) <= budget:
            parts.append(sentence)
            words += len(sentence.split())
    return " ".join(parts)


# --------------------------------------------------------------------------
# Timing and audio
# --------------------------------------------------------------------------


def _frames_for(seconds: float, fps: float, rounding: Callable[[float], int]) -> int:
    """Whole number of frames (at least one) for ``seconds``.

    The tiny epsilon keeps float noise (``0.6 * 25 = 15.000000000000002``)
    from adding a frame when ``rounding`` is :func:`math.ceil`.
    """
    return max(1, int(rounding(seconds * fps - 1e-9)))


def _boundaries(frames: Sequence[int]) -> list[int]:
    """Cumulative frame indices: ``[0, f0, f0+f1, ...]``."""
    return list(itertools.accumulate(frames, initial=0))


def _sample_at(frame: int, fps: float) -> int:
    """Audio sample index at which video frame ``frame`` starts."""
    return round(frame * SAMPLE_RATE / fps)


def _lay_out(slides: Sequence[Slide], speech: Sequence[np.ndarray], frames: Sequence[int],
             fps: float, gap: float) -> tuple[list[SlideSpan], np.ndarray]:
    """Place each narration ``gap`` s into its slide; return spans and the track."""
    import numpy as np

    bounds = _boundaries(frames)
    track = np.zeros(_sample_at(bounds[-1], fps), np.int16)
    gap_samples = round(gap * SAMPLE_RATE)
    spans = []
    for slide, audio, first, last in zip(slides, speech, bounds, bounds[1:]):
        start, end = _sample_at(first, fps), _sample_at(last, fps)
        if len(audio):
            lo = min(start + gap_samples, end)
            hi = min(lo + len(audio), end)
            track[lo:hi] = audio[: hi - lo]
        else:
            lo = hi = start
        spans.append(SlideSpan(slide, first / fps, last / fps, lo / SAMPLE_RATE, hi / SAMPLE_RATE))
    return spans, track


def _speak(text: str, wav_path: Path, voice: str, words_per_minute: int, pitch: int | None = None) -> np.ndarray:
    """Synthesise ``text`` with espeak-ng (``pitch`` 0-99: its default when None); return trimmed int16 mono samples."""
    text_path = wav_path.with_suffix(".txt")
    text_path.write_text(text, encoding="utf-8")
    _run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), *(["-p", str(pitch)] if pitch is not None else []),
          "-w", str(wav_path), "-f", str(text_path)])
    return _trim_silence(_read_wav(wav_path))


def _read_wav(path: Path) -> np.ndarray:
    """Read a 16-bit mono wav as int16 samples at :data:`SAMPLE_RATE`."""
    import numpy as np

    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise SynthError(f"{path.name}: expected 16-bit mono audio")
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), np.int16)
    if rate == SAMPLE_RATE or not len(samples):
        return samples
    positions = np.arange(round(len(samples) * SAMPLE_RATE / rate)) * rate / SAMPLE_RATE
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.int16)


def _trim_silence(samples: np.ndarray) -> np.ndarray:
    """Drop leading and trailing inaudible samples."""
    import numpy as np

    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > _AUDIBLE)
    return samples[loud[0]: loud[-1] + 1] if len(loud) else samples[:0]


def _write_wav(path: Path, samples: np.ndarray) -> Path:
    """Write int16 mono samples at :data:`SAMPLE_RATE`; return ``path``."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.astype("<i2").tobytes())
    return path


def _tone(n_samples: int, freq: float, music: bool) -> np.ndarray:
    """``n_samples`` of int16 sine tone or plucked arpeggio rooted at ``freq``."""
    import numpy as np

    t = np.arange(n_samples) / SAMPLE_RATE
    if music:
        chord_root = freq * np.array([1.0, 4 / 3, 3 / 2, 1.0])[(t // 2.0).astype(int) % 4]
        step = (t // 0.25).astype(int) % 4
        pluck_age = t % 0.25
        pluck = np.minimum(1.0, pluck_age / 0.005) * np.exp(-6.0 * pluck_age)
        melody = pluck * np.sin(2 * np.pi * chord_root * np.array([1.0, 1.25, 1.5, 2.0])[step] * t)
        bass = np.minimum(1.0, (t % 2.0) / 0.01) * np.sin(np.pi * chord_root * t)
        signal = 0.5 * melody + 0.25 * bass
    else:
        signal = 0.5 * np.sin(2 * np.pi * freq * t)
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
    return (signal * fade * 0.8 * 32767).astype(np.int16)


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------


def _ink_for(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Dark text on light backgrounds, light text on dark ones."""
    r, g, b = background
    return _INK_DARK if 0.299 * r + 0.587 * g + 0.114 * b > 128 else _INK_LIGHT


def _wrap(text: str, font, width: int) -> list[str]:
    """Greedy word wrap of ``text`` to ``width`` pixels in ``font``."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _draw_bullets(draw, bullets: Sequence[str], column: tuple[int, int, int],
                  scale: float, ink: tuple[int, int, int]) -> None:
    """Draw round-dot bullets with hanging indent in ``column`` (left, top, right)."""
    from PIL import ImageFont

    left, y, right = column
    font = ImageFont.load_default(size=max(8, round(40 * scale)))
    line_height = round(40 * scale * 1.3)
    indent, radius = round(36 * scale), max(2, round(6 * scale))
    for bullet in bullets:
        centre_y = y + line_height // 2
        draw.ellipse([left, centre_y - radius, left + 2 * radius, centre_y + radius], fill=_ACCENT)
        for line in _wrap(bullet, font, right - left - indent):
            draw.text((left + indent, y), line, font=font, fill=ink)
            y += line_height
        y += line_height // 2


def _load_photo(name: str) -> Image.Image:
    """Load a scikit-image bundled sample image (``skimage/data/NAME.png|jpg``)."""
    from PIL import Image

    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        raise SynthError("scikit-image not found: install it with pip install scikit-image")
    folder = Path(spec.origin).parent / "data"
    for suffix in (".png", ".jpg"):
        if (folder / f"{name}{suffix}").is_file():
            with Image.open(folder / f"{name}{suffix}") as photo:
                return photo.convert("RGB")
    raise SynthError(f"photo {name!r} is not bundled in {folder}")


def _shot_image(color: Color, size: tuple[int, int]) -> Image.Image:
    """A solid colour frame, one of the static patterns, or ``"photo:NAME"`` (a bundled photo, full frame)."""
    import numpy as np
    from PIL import Image

    width, height = size
    x = np.arange(width)[None, :]
    y = np.arange(height)[:, None]
    if color == "bars":
        palette = np.array([[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0],
                            [192, 0, 192], [192, 0, 0], [0, 0, 192]], np.uint8)
        pixels = np.broadcast_to(palette[x * 7 // width], (height, width, 3))
    elif color == "checker":
        cell = max(1, min(size) // 8)
        pixels = np.where(((x // cell + y // cell) % 2)[..., None], 255, 0).astype(np.uint8)
        pixels = np.broadcast_to(pixels, (height, width, 3))
    elif color == "gradient":
        ramp = (x * 255 // max(1, width - 1)).astype(np.uint8)
        pixels = np.broadcast_to(ramp[..., None], (height, width, 3))
    elif isinstance(color, str) and color.startswith("photo:"):
        return _load_photo(color.split(":", 1)[1]).resize(size)  # a full-frame cutaway photo
    else:
        return Image.new("RGB", size, color)
    return Image.fromarray(np.ascontiguousarray(pixels))


def _save_png(image: Image.Image, path: Path) -> Path:
    image.save(path, compress_level=1)
    return path


# --------------------------------------------------------------------------
# ffmpeg / external tools
# --------------------------------------------------------------------------


def _run(cmd: list[str]) -> None:
    """Run an external tool; raise :class:`SynthError` if missing or failing."""
    tool = cmd[0]
    if shutil.which(tool) is None:
        raise SynthError(f"{tool} not found: install it with apt-get install -y {tool}")
    result = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:]) or "no error output"
        raise SynthError(f"{tool} failed (exit {result.returncode}): {tail}")


def _checked_output(out_path: str | Path, audio_only: bool, size: tuple[int, int]) -> Path:
    """``out_path`` as a Path, after checking its extension (and, for video, the frame size)."""
    out = Path(out_path)
    if audio_only:
        _check_audio_format(out)
    else:
        _check_video_format(out, size)
    return out


def _check_audio_format(out: Path) -> None:
    """Fail early, before any work, on an unsupported audio extension."""
    if out.suffix.lower() not in _AUDIO_CODECS:
        raise ValueError(f"unsupported audio extension {out.suffix!r}; use one of {sorted(_AUDIO_CODECS)}")


def _check_video_format(out: Path, size: tuple[int, int]) -> None:
    """Fail early, before any work, on an unsupported video extension or size."""
    if out.suffix.lower() not in _VIDEO_CODECS:
        raise ValueError(f"unsupported video extension {out.suffix!r}; use one of {sorted(_VIDEO_CODECS)}")
    if size[0] % 2 or size[1] % 2 or min(size) < 2:
        raise ValueError(f"video size must be even and at least 2x2 (yuv420p), got {size}")


def _ffmpeg(args: list[str], out: Path, work: Path) -> None:
    """Run ffmpeg writing into ``work`` first, then move the result to ``out``."""
    partial = work / f"output{out.suffix.lower()}"
    _run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args, str(partial)])
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(partial, out)


def _encode_audio(wav: Path, out: Path, work: Path) -> None:
    _ffmpeg(["-i", str(wav), *_AUDIO_CODECS[out.suffix.lower()]], out, work)


def _encode_video(stills: Sequence[tuple[Path, int]], fps: float, wav: Path | None,
                  out: Path, work: Path) -> None:
    """Mux still images shown for whole frame counts (plus optional audio)."""
    listing = work / "stills.ffconcat"
    lines = ["ffconcat version 1.0"]
    for path, count in stills:
        lines += [f"file '{path.name}'", f"duration {count / fps:.6f}"]
    lines.append(f"file '{stills[-1][0].name}'")  # the last duration is honoured only if repeated
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")

    video_codec, audio_codec = _VIDEO_CODECS[out.suffix.lower()]
    args = ["-f", "concat", "-i", str(listing)]
    if wav is not None:
        args += ["-i", str(wav), "-map", "0:v", "-map", "1:a", *audio_codec]
    total = sum(count for _, count in stills)
    # Convert each still to yuv420p once, *then* repeat it: twice as fast.
    args += ["-vf", f"format=yuv420p,fps={fps}", "-t", f"{total / fps:.6f}",
             "-g", str(max(1, round(2 * fps))), *video_codec]
    _ffmpeg(args, out, work)


# --------------------------------------------------------------------------
# Topic bank for lecture_slides(): (topic, on-screen bullets, narration)
# --------------------------------------------------------------------------

_TOPICS: tuple[tuple[str, tuple[str, str, str], str], ...] = (
    ("Photosynthesis and light",
     ("Chlorophyll absorbs red and blue", "Water is split, oxygen released", "Calvin cycle fixes carbon"),
     "Photosynthesis is how green plants turn light into chemical energy. Inside the "
     "chloroplasts, chlorophyll absorbs red and blue light and reflects green light, which is "
     "why leaves look green. The captured energy splits water molecules and releases oxygen "
     "into the air. Carbon dioxide is then fixed into sugar in a series of reactions called "
     "the Calvin cycle. Nearly every food chain on Earth begins with photosynthesis."),
    ("The water cycle",
     ("Evaporation from the oceans", "Condensation forms clouds", "Precipitation and runoff"),
     "The water cycle moves water between the oceans, the air and the land. Sunlight warms "
     "the sea surface and water evaporates as invisible vapour. As moist air rises it cools, "
     "and the vapour condenses into tiny droplets that form clouds. When the droplets grow "
     "heavy they fall as rain or snow. Rivers and groundwater carry the water back to the "
     "sea, and the water cycle begins again."),
    ("Plate tectonics",
     ("Lithosphere split into plates", "Plates move a few cm per year", "Earthquakes at boundaries"),
     "Plate tectonics explains why continents drift and mountains rise. The outer shell of "
     "the Earth is broken into large rigid plates that ride on hotter, softer rock below. The "
     "plates move only a few centimetres each year, about as fast as fingernails grow. Where "
     "plates collide, mountain ranges such as the Himalayas are pushed upward. Where they "
     "slide past each other, stress builds up and is released in earthquakes."),
    ("Roman aqueducts",
     ("Gravity-fed water supply", "Gentle, constant gradient", "Arches carried channels over valleys"),
     "Roman aqueducts carried fresh water into cities using nothing but gravity. Engineers "
     "surveyed routes with a very gentle and constant slope, sometimes dropping only a few "
     "metres over many kilometres. Most of the channel ran underground, but across valleys it "
     "was raised on tall stone arches. The city of Rome was eventually supplied by eleven "
     "aqueducts. Some Roman aqueducts, such as the one in Segovia in Spain, still stand today."),
    ("The printing press",
     ("Movable metal type", "Gutenberg, around 1450", "Books became cheaper"),
     "The printing press changed how knowledge spread across Europe. Around the middle of the "
     "fifteenth century, Johannes Gutenberg in Mainz combined movable metal type, oil based "
     "ink and a screw press. A printer could now produce hundreds of identical pages in a "
     "day. Books became far cheaper, and literacy slowly grew. The printing press helped "
     "spread the ideas of the Renaissance, the Reformation and early modern science."),
    ("Steam engines",
     ("Heat turned into motion", "Watt's separate condenser", "Powered mills, ships and trains"),
     "Steam engines turned the heat of burning coal into mechanical work. Early engines built "
     "by Thomas Newcomen pumped water out of mines, but they wasted a great deal of fuel. "
     "James Watt added a separate condenser, which kept the cylinder hot and greatly improved "
     "efficiency. Steam engines soon drove textile mills, ships and railway locomotives. They "
     "were the workhorses of the nineteenth century."),
    ("Bridges and load paths",
     ("Beam, arch and suspension", "Tension and compression", "Loads flow to the foundations"),
     "Every bridge works by guiding loads safely down into the ground. In a beam bridge the "
     "top of the beam is squeezed in compression while the bottom is stretched in tension. An "
     "arch bridge turns the weight of the deck into compression that pushes outward on its "
     "supports. Suspension bridges hang the deck from steel cables held up by tall towers. "
     "Engineers study these load paths to choose the right bridge for each site."),
    ("The immune system",
     ("Innate and adaptive defences", "Antibodies tag invaders", "Memory cells and vaccines"),
     "The immune system defends the body against bacteria, viruses and other invaders. The "
     "innate defences, such as skin and white blood cells that engulf microbes, respond "
     "within hours. The adaptive response is slower but highly specific. B cells make "
     "antibodies that attach to a particular invader and mark it for destruction. Memory "
     "cells remain afterwards, which is why vaccines can train the immune system to respond "
     "quickly."),
    ("Black holes",
     ("Escape velocity above light speed", "The event horizon", "Found by orbiting stars"),
     "A black hole is a region where gravity is so strong that not even light can escape. It "
     "forms when a very massive star collapses at the end of its life. The boundary of no "
     "return is called the event horizon. Black holes cannot be seen directly, but "
     "astronomers detect them from the hot gas that swirls around them and from stars that "
     "orbit an invisible partner. A giant black hole sits at the centre of our own galaxy."),
    ("Volcanoes",
     ("Magma rises through the crust", "Shield and strato volcanoes", "Ash, lava and gas"),
     "Volcanoes form where molten rock from deep inside the Earth reaches the surface. Magma "
     "collects in chambers beneath the volcano and rises because it is lighter than the "
     "surrounding rock. Runny basalt lava builds broad shield volcanoes, like those of "
     "Hawaii. Sticky, gas rich magma builds steep cones and can explode violently, throwing "
     "ash high into the sky. Scientists watch volcanoes for small earthquakes and swelling "
     "ground before an eruption."),
    ("The Silk Road",
     ("Trade routes across Asia", "Silk, spices and paper", "Ideas travelled too"),
     "The Silk Road was a network of trade routes linking China with Central Asia, Persia and "
     "the Mediterranean. Caravans of camels carried silk, spices, tea and precious metals "
     "across deserts and mountains. Few traders travelled the whole way, and goods passed "
     "from merchant to merchant along the route. Religions, languages and inventions such as "
     "papermaking also spread along the Silk Road. Its cities, such as Samarkand, grew rich "
     "from the trade."),
    ("Electric circuits",
     ("Voltage, current, resistance", "Ohm's law: V = I R", "Series and parallel"),
     "An electric circuit is a closed loop that lets charge flow from a source through a load "
     "and back. The voltage of a battery pushes the current, and resistance limits how much "
     "current flows. Ohm's law says that voltage equals current multiplied by resistance. In "
     "a series circuit the same current passes through every component, while in a parallel "
     "circuit each branch gets the full voltage. Household wiring uses parallel circuits so "
     "each appliance works on its own."),
    ("DNA replication",
     ("The double helix unzips", "Base pairs: A-T and G-C", "Polymerase copies each strand"),
     "DNA replication is how a cell copies its genetic information before it divides. The "
     "double helix is unwound by an enzyme called helicase, exposing two separate strands. "
     "Each strand serves as a template for a new one. DNA polymerase adds matching bases, "
     "adenine with thymine and guanine with cytosine. The result is two identical DNA "
     "molecules, each with one old strand and one new strand."),
    ("Ocean tides",
     ("Pull of the Moon and Sun", "Two high tides a day", "Spring and neap tides"),
     "Ocean tides are the regular rise and fall of the sea, caused mainly by the Moon. The "
     "Moon's gravity pulls the ocean into two bulges, one facing the Moon and one on the "
     "opposite side of the Earth. As the Earth turns, most coasts pass through both bulges "
     "and see two high tides each day. When the Sun and the Moon line up, their pulls add "
     "together and produce large spring tides. When they are at right angles, the smaller "
     "neap tides occur."),
    ("The Industrial Revolution",
     ("Began in Britain, c. 1760", "Factories and mechanised textiles", "Rapid growth of cities"),
     "The Industrial Revolution transformed how goods were made, starting in Britain in the "
     "late eighteenth century. Spinning and weaving moved from homes into factories filled "
     "with machines. Coal and iron production grew rapidly, and canals and railways "
     "connected mines, mills and ports. Millions of people moved from the countryside into "
     "crowded cities to find work. The Industrial Revolution raised output enormously, but "
     "working conditions were often harsh."),
    ("Semiconductors and transistors",
     ("Silicon doped with impurities", "Transistors act as switches", "Billions on one chip"),
     "Semiconductors such as silicon conduct electricity better than an insulator but worse "
     "than a metal. Adding tiny amounts of other elements, called doping, controls how they "
     "conduct. A transistor uses a small voltage on its gate to switch a larger current on or "
     "off. The first transistor was built at Bell Labs in nineteen forty seven. Today a "
     "single chip can hold billions of transistors, which makes modern computers and phones "
     "possible."),
    ("The Egyptian pyramids",
     ("Tombs for the pharaohs", "Great Pyramid of Giza", "Limestone and granite blocks"),
     "The Egyptian pyramids were built as tombs for the pharaohs more than four thousand "
     "years ago. The Great Pyramid of Giza was built for the pharaoh Khufu and was the "
     "tallest structure on Earth for thousands of years. It contains more than two million "
     "stone blocks. Workers quarried limestone nearby and floated granite down the Nile from "
     "Aswan. Skilled paid crews, not slaves, are now thought to have done most of the work."),
    ("Weather fronts",
     ("Cold fronts and warm fronts", "Where air masses meet", "Clouds and rain along the front"),
     "A weather front is the boundary between two air masses with different temperatures. At "
     "a cold front, dense cold air pushes under warm air and lifts it quickly, often causing "
     "showers and thunderstorms. At a warm front, warm air slides gently up over colder air, "
     "bringing wide layers of cloud and steady rain. On weather maps, cold fronts are drawn "
     "with blue triangles and warm fronts with red semicircles. Forecasters track weather "
     "fronts to predict changes in the weather."),
    ("Antibiotics",
     ("Fleming and penicillin, 1928", "Kill or stop bacteria", "Resistance is a growing risk"),
     "Antibiotics are medicines that kill bacteria or stop them from growing. In nineteen "
     "twenty eight Alexander Fleming noticed that a mould called Penicillium had killed the "
     "bacteria around it. Penicillin was developed into a drug during the Second World War "
     "and saved many lives. Antibiotics do not work against viruses such as the common cold. "
     "Overuse lets resistant bacteria survive and spread, so doctors prescribe antibiotics "
     "with care."),
    ("Wind power",
     ("Blades turn a generator", "Power grows with wind speed cubed", "Onshore and offshore farms"),
     "Wind power turns the movement of air into electricity. The wind pushes on long blades "
     "that turn a shaft connected to a generator inside the nacelle. The energy available "
     "grows with the cube of the wind speed, so doubling the wind speed gives about eight "
     "times the power. Wind turbines are grouped into wind farms on land and at sea, where "
     "the wind is stronger and steadier. Wind power is now one of the cheapest sources of new "
     "electricity."),
)
