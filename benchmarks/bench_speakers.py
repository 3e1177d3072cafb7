"""Who speaks: ``python -m benchmarks.bench_speakers --out BENCHMARKS.md`` (section ``bench-speakers``).

* **DER** on generated meetings (``tests.support.synth.make_dialogue``: 2, 3 and 4 espeak-ng voices, known
  turns), each indexed with the ``asr`` and ``speakers`` stages (``--asr-model``, default Whisper base):
  reference = the turns, hypothesis = the speech records with their speaker, 10 ms frames, no collar,
  the best one-to-one mapping of labels (Hungarian). Missed/false speech come from the speech records'
  bounds; *confusion* is the speaker error proper.
* **Threshold**: the same meetings' windows embedded once over their true speech, clustered at several
  distance thresholds: speakers found vs. true, and confusion. Plus the real CAIS clips (one voice each
  except v1 and v17, which have two by their human transcripts).
* **Real changes**: cais_v1 (human transcript: ">>" at 5.8 s) and cais_v17 (second voice from "YES IT
  CERTAINLY IS", cue at 8.44 s), indexed like the meetings; the change times found and the names given.
* **Same voice across videos**: similarity of speaker centroids for the same voice in different files
  vs. different voices (generated), and the real pairs v18/v20 (same forecaster) and v11/v12 (same host).
* **Cost**: the same media indexed with the default stages without and with ``speakers``, side by side,
  fresh knowledge bases; plus the stage's own time from the run's timings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from .common import Clock, Section, command_line, measured

SECTION = Section("<!-- bench-speakers:begin -->", "<!-- bench-speakers:end -->")
EVAL = Path(os.environ.get("VRAG_EVAL_DIR", Path(__file__).resolve().parents[2] / "shared" / "eval"))
MEETINGS = ((2, 11), (2, 12), (3, 13), (3, 14), (4, 15), (4, 16))
THRESHOLDS = (0.25, 0.3, 0.35, 0.4, 0.45)
FRAME = 0.01


def make_meetings(folder: Path, turns: int) -> list[tuple[Path, list[tuple[float, float, str]]]]:
    from tests.support.synth import dialogue_turns, make_dialogue

    out = []
    for n, seed in MEETINGS:
        path = folder / f"meeting_{n}_{seed}.mp4"
        truth = path.with_suffix(".json")
        if not truth.exists():
            spans = make_dialogue(dialogue_turns(list("ABCD"[:n]), turns, seed=seed), path)
            truth.write_text(json.dumps([(s.start, s.end, s.turn.speaker) for s in spans]))
        out.append((path, [tuple(t) for t in json.loads(truth.read_text())]))
    return out


def der(reference: Sequence[tuple[float, float, str]], hypothesis: Sequence[tuple[float, float, str]]) -> dict[str, float]:
    """Diarization error rate (10 ms frames, no collar, best label mapping) and its parts."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    end = max([b for _, b, _ in reference] + [b for _, b, _ in hypothesis])
    n = int(end / FRAME) + 1
    ref_names = sorted({s for *_, s in reference})
    hyp_names = sorted({s for *_, s in hypothesis})
    ref = np.full(n, -1)
    hyp = np.full(n, -1)
    for a, b, s in reference:
        ref[int(a / FRAME):int(b / FRAME)] = ref_names.index(s)
    for a, b, s in hypothesis:
        hyp[int(a / FRAME):int(b / FRAME)] = hyp_names.index(s)
    both = (ref >= 0) & (hyp >= 0)
    counts = np.zeros((len(ref_names), max(1, len(hyp_names))))
    np.add.at(counts, (ref[both], hyp[both]), 1)
    rows, cols = linear_sum_assignment(-counts)
    matched = counts[rows, cols].sum()
    total = max(1, int((ref >= 0).sum()))
    miss = int(((ref >= 0) & (hyp < 0)).sum())
    false = int(((ref < 0) & (hyp >= 0)).sum())
    confusion = int(both.sum() - matched)
    return {"der": (miss + false + confusion) / total, "miss": miss / total, "false": false / total,
            "confusion": confusion / total, "found": len(hyp_names), "true": len(ref_names)}


def index_meetings(meetings: list, asr_model: str, work: Path) -> list[dict[str, Any]]:
    from vrag import KnowledgeBase

    rows = []
    for path, truth in meetings:
        kb = KnowledgeBase(work / f"kb_{path.stem}", stages=("asr", "speakers"), asr_model=asr_model)
        report = kb.index([path])
        speech = kb.segments(report.results[0].video_id, "asr")
        hyp = [(s.start, s.end, s.meta.get("speaker_label", "?")) for s in speech]
        rows.append({"file": path.name, **der(truth, hyp),
                     "labelled": sum(1 for s in speech if s.meta.get("speaker")) / max(1, len(speech)),
                     "centroids": {s.meta["label"]: s.meta["centroid"] for s in kb.segments(modality="speaker")},
                     "turns": truth, "hyp": hyp})
    return rows


def sweep(meetings: list, real: list[tuple[Path, int]]) -> dict[float, dict[str, Any]]:
    """Speakers found and confusion per threshold, from windows over the true speech (embedded once)."""
    from vrag.backends import get_backend
    from vrag.config import Config
    from vrag.media.audio import AudioChunks
    from vrag.speakers import diarize, speech_spans, windows_in, word_speakers

    encoder = get_backend("voice", Config.load())
    cases = []
    for path, truth in meetings:
        samples = next(iter(AudioChunks(str(path), 3600.0)))[1]
        windows = windows_in(speech_spans([(a, b) for a, b, _ in truth]))
        cases.append((truth, windows, encoder.embed(samples, windows), None))
    for path, voices in real:
        samples = next(iter(AudioChunks(str(path), 3600.0)))[1]
        spans = _real_speech(path)
        windows = windows_in(speech_spans(spans))
        cases.append((None, windows, encoder.embed(samples, windows), voices))
    out: dict[float, dict[str, Any]] = {}
    for threshold in THRESHOLDS:
        right, conf, real_right = 0, [], 0
        for truth, windows, emb, voices in cases:
            d = diarize(emb, windows, threshold)
            if truth is None:
                real_right += len(d.speakers) == voices
                continue
            points = [(t, t) for a, b, _ in truth for t in _frames(a, b)]
            who = word_speakers(d, points)
            hyp = [(t, t + FRAME, f"h{w}") for (t, _), w in zip(points, who)]
            score = der(truth, hyp)
            right += score["found"] == score["true"]
            conf.append(score["confusion"])
        out[threshold] = {"right": right, "of": len(meetings), "confusion": sum(conf) / len(conf),
                          "real_right": real_right, "real_of": len(real)}
    return out


def _frames(a: float, b: float) -> list[float]:
    return [a + i * 0.05 for i in range(int((b - a) / 0.05))]


def _real_speech(path: Path) -> list[tuple[float, float]]:
    """Word spans of a real clip from a knowledge base of the shared material (copied, never written)."""
    return _REAL_WORDS.get(path.name, [])


_REAL_WORDS: dict[str, list[tuple[float, float]]] = {}


def real_clips(asr_model: str, work: Path) -> list[dict[str, Any]]:
    from vrag import KnowledgeBase

    clips = sorted((EVAL / "batch2").glob("cais_v*.mp4"))
    if not clips:
        return []
    kb = KnowledgeBase(work / "kb_cais", stages=("asr", "ocr", "speakers"), asr_model=asr_model)
    kb.index(clips)
    out = []
    for row in kb.status()["videos"]:
        speech = sorted(kb.segments(row["video_id"], "asr"), key=lambda s: s.start)
        name = Path(row["path"]).name
        _REAL_WORDS[name] = [(float(w["start"]), float(w["end"])) for s in speech for w in s.meta.get("words", [])]
        changes = [b.start for a, b in zip(speech, speech[1:]) if a.meta.get("speaker_label") != b.meta.get("speaker_label")]
        speakers = kb.segments(row["video_id"], "speaker")
        out.append({"file": name, "changes": [round(c, 2) for c in changes],
                    "speakers": [(s.meta["label"], s.meta["name"], s.meta["source"]) for s in speakers],
                    "centroids": {s.meta["label"]: s.meta["centroid"] for s in speakers}})
    return sorted(out, key=lambda r: r["file"])


def voice_pairs(meetings_rows: list[dict[str, Any]], real: list[dict[str, Any]]) -> dict[str, Any]:
    """Centroid similarity of the same voice in two files vs. different voices (generated; majority mapping)."""
    import numpy as np

    from vrag.speakers import cosine

    voices = []  # (file, true voice, centroid)
    for row in meetings_rows:
        for label, centroid in row["centroids"].items():
            owner = _owner(row, label)
            if owner:
                voices.append((row["file"], owner, centroid))
    same, other = [], []
    for i, (f1, v1, c1) in enumerate(voices):
        for f2, v2, c2 in voices[i + 1:]:
            if f1 != f2:
                (same if v1 == v2 else other).append(float(cosine(np.asarray(c1), np.asarray(c2))[0, 0]))
    by_file = {r["file"]: r["centroids"] for r in real}

    def pair(a: str, b: str) -> float | None:
        if a not in by_file or b not in by_file or not by_file[a] or not by_file[b]:
            return None
        return round(float(cosine(np.asarray(by_file[a]["S1"]), np.asarray(by_file[b]["S1"]))[0, 0]), 3)

    genres = {"sports": [], "weather": [], "talkshow": []}
    for r in real:
        for g in genres:
            if g in r["file"] and r["centroids"]:
                genres[g].append(r["centroids"].get("S1"))
    across = [float(cosine(np.asarray(a), np.asarray(b))[0, 0]) for g1 in genres for g2 in genres if g1 < g2
              for a in genres[g1] for b in genres[g2] if a and b]
    return {"same": same, "other": other, "v18_v20": pair("cais_v18_weather.mp4", "cais_v20_weather.mp4"),
            "v11_v12": pair("cais_v11_talkshow.mp4", "cais_v12_talkshow.mp4"), "across_genres": across}


def _owner(row: dict[str, Any], label: str) -> str:
    """The true voice that most of ``label``'s speech belongs to."""
    time_of: dict[str, float] = {}
    for a, b, who in row["hyp"]:
        if who != label:
            continue
        for ta, tb, voice in row["turns"]:
            time_of[voice] = time_of.get(voice, 0.0) + max(0.0, min(b, tb) - max(a, ta))
    return max(time_of, key=time_of.get) if time_of else ""


def cost(media: list[Path], asr_model: str, work: Path, repeats: int = 2) -> list[dict[str, Any]]:
    """Default stages without and with ``speakers`` on the same files, fresh knowledge bases, ``repeats``
    times in alternating order; the least wall time of each variant (the one least disturbed)."""
    from vrag import KnowledgeBase
    from vrag.config import Config

    everything = tuple(Config.load().stages)
    variants = {"without": tuple(s for s in everything if s != "speakers"), "with": everything}
    out = []
    for path in media:
        runs: dict[str, list[tuple[float, float, float]]] = {"without": [], "with": []}
        duration = 0.0
        for rep in range(repeats):
            for variant in (("without", "with") if rep % 2 == 0 else ("with", "without")):
                folder = work / f"cost_{variant}_{path.stem}_{rep}"
                kb = KnowledgeBase(folder, stages=variants[variant], asr_model=asr_model)
                with Clock() as clock:
                    result = kb.index([path]).results[0]
                duration = result.duration
                runs[variant].append((clock.wall, clock.others, result.timings.get("speakers", 0.0)))
                shutil.rmtree(folder, ignore_errors=True)
        best = {v: min(r) for v, r in runs.items()}
        out.append({"file": path.name, "duration": duration, "without": best["without"][0], "with": best["with"][0],
                    "without_others": best["without"][1], "with_others": best["with"][1], "stage": best["with"][2],
                    "all": {v: [round(w, 1) for w, _, _ in r] for v, r in runs.items()}})
    return out


def render(results: dict[str, Any], command: str) -> str:
    lines = ["## Who speaks (speakers stage)", "", measured(command) + ".", "",
             f"Generated meetings ({results['turns']} turns each, espeak-ng voices), indexed with asr "
             f"({results['asr_model']}) + speakers; DER with 10 ms frames, no collar:", "",
             "| meeting | voices | found | DER | missed | false | confusion | records labelled |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results["meetings"]:
        lines.append(f"| {r['file']} | {r['true']} | {r['found']} | {r['der']:.1%} | {r['miss']:.1%} | {r['false']:.1%} "
                     f"| {r['confusion']:.1%} | {r['labelled']:.0%} |")
    rows = results["meetings"]
    lines += [f"| **mean** | | | **{sum(r['der'] for r in rows) / len(rows):.1%}** | | | "
              f"**{sum(r['confusion'] for r in rows) / len(rows):.1%}** | |", "",
              "Clustering threshold (cosine distance; windows over the true speech of the meetings, and over the "
              "words of the real CAIS clips, which have one voice each except v1 and v17 with two):", "",
              "| threshold | meetings with the right number of speakers | mean confusion | real clips right |",
              "|---|---|---|---|"]
    for t, s in results["sweep"].items():
        lines.append(f"| {t} | {s['right']}/{s['of']} | {s['confusion']:.1%} | {s['real_right']}/{s['real_of']} |")
    lines += ["", "Real clips (speaker changes found; human transcripts: v1 \">>\" at 5.8 s, v17 second voice from "
              "the cue at 8.44 s):", "", "| clip | changes at (s) | speakers (label, name, evidence) |", "|---|---|---|"]
    for r in results["real"]:
        lines.append(f"| {r['file']} | {', '.join(map(str, r['changes'])) or '-'} | "
                     f"{'; '.join(f'{a} {b} ({c})' for a, b, c in r['speakers'])} |")
    p = results["pairs"]

    def span(values: list[float]) -> str:
        return f"{min(values):.2f}..{max(values):.2f} (n={len(values)})" if values else "-"

    lines += ["", "Same voice across videos (centroid cosine similarity): generated same voice "
              f"{span(p['same'])}, different voices {span(p['other'])}; real: v18/v20 (same forecaster) "
              f"{p['v18_v20']}, v11/v12 (same host) {p['v11_v12']}, speakers of different genres "
              f"{span(p['across_genres'])}. A name is carried to another video's speaker at similarity "
              f">= {results['same_person']}.", "",
              "Cost: default stages without and with `speakers`, same files, fresh knowledge bases, models "
              "loaded by a warm-up first, each variant twice in alternating order, the faster run shown (all runs "
              "in the last column). The machine was shared by several agents: 'others' is the CPU time other "
              "processes took during the shown runs, so the stage's own time (from the run's timings) is the "
              "steadier figure:", "",
              "| file | seconds | without (s) | with (s) | added | the stage's own time | others (s) | all runs (s) |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results["cost"]:
        lines.append(f"| {r['file']} | {r['duration']:.0f} | {r['without']:.1f} | {r['with']:.1f} | "
                     f"{(r['with'] - r['without']) / r['without']:+.1%} | {r['stage']:.1f} s = "
                     f"{r['stage'] / r['with']:.1%} of the run | {r['without_others']:.0f} / {r['with_others']:.0f} | "
                     f"without {r['all']['without']}, with {r['all']['with']} |")
    return SECTION.render(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asr-model", default="base")
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--media", type=Path, default=Path(tempfile.gettempdir()) / "vrag-bench-speakers")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    from vrag.speaker_library import SAME_PERSON

    args.media.mkdir(parents=True, exist_ok=True)
    meetings = make_meetings(args.media, args.turns)
    with tempfile.TemporaryDirectory(prefix="vrag-bench-speakers-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        rows = index_meetings(meetings, args.asr_model, work)
        real = real_clips(args.asr_model, work)
        two = {"cais_v1_sports.mp4", "cais_v17_weather.mp4"}
        sweep_real = [(EVAL / "batch2" / r["file"], 2 if r["file"] in two else 1) for r in real]
        results = {"asr_model": args.asr_model, "turns": args.turns, "meetings": rows, "real": real,
                   "sweep": sweep(meetings, sweep_real), "pairs": voice_pairs(rows, real), "same_person": SAME_PERSON,
                   "cost": []}
        if not args.skip_cost:
            media = [meetings[0][0]] + [p for p in (EVAL / "media" / "nih_twin_study_talk.mp4",) if p.exists()]
            _warm_up(args.asr_model, work, meetings[-1][0])
            results["cost"] = cost(media, args.asr_model, work)
        print(f"took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    for r in results["meetings"]:
        r.pop("centroids"), r.pop("turns"), r.pop("hyp")
    SECTION.publish(render(results, command_line("benchmarks.bench_speakers", argv)), args.out)
    return 0


def _warm_up(asr_model: str, work: Path, path: Path) -> None:
    """Load every default stage's models once, so neither side of the cost comparison pays for them."""
    from vrag import KnowledgeBase

    KnowledgeBase(work / "warm", asr_model=asr_model).index([path])


if __name__ == "__main__":
    raise SystemExit(main())
