"""Side-by-side costs of single parts of a fresh index, for ``benchmarks.bench_speed --parts``.

Each part runs in fresh processes, before and after alternating (A, B, A, B, ...):

- ``voice``: the speaker stage's models and clustering on 90 s of the NIH talk (../shared/eval): resemblyzer
  on torch clustered by scikit-learn (before) vs the ONNX export clustered through scipy (after); the
  export is made beforehand. Load, embedding and clustering seconds, CPU, RSS added, torch imported.
- ``frames``: the frame pass of the lecture with the shot stage alone: frame threads, every picture
  converted and compared (before) vs one decoding thread, repeated pictures reused (after).
- ``spacy``: importing spaCy and loading en_core_web_sm with every pipe vs without ``senter``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from .common import child_json

__all__ = ["run_parts", "child_part"]

SPEECH = Path("../shared/eval/media/nih_twin_study_talk.mp4")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _voice(variant: str) -> dict[str, Any]:
    from vrag.config import Config
    from vrag.media.audio import AudioChunks
    from vrag.speakers import windows_in

    ((_, samples), *_rest) = list(AudioChunks(str(SPEECH), 600.0))
    samples = samples[: 90 * 16000]
    windows = windows_in([(0.0, 90.0)])
    rss, started, cpu = _rss_mb(), time.perf_counter(), time.process_time()
    from vrag.backends.voice import ResemblyzerEncoder

    encoder = ResemblyzerEncoder(Config.load(env={}, voice_runtime="torch" if variant == "before" else "onnxruntime"))
    encoder.load()
    loaded = time.perf_counter()
    vectors = encoder.embed(samples, windows)
    embedded = time.perf_counter()
    if variant == "before":
        from sklearn.cluster import AgglomerativeClustering

        labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                         distance_threshold=0.35).fit_predict(vectors)
    else:
        from vrag.speakers import _cluster

        labels = _cluster(vectors, 0.35)
    done = time.perf_counter()
    return {"load": loaded - started, "embed": embedded - loaded, "cluster": done - embedded, "seconds": done - started,
            "cpu": time.process_time() - cpu, "rss_added": _rss_mb() - rss, "torch": "torch" in sys.modules,
            "windows": len(windows), "clusters": int(max(labels)) + 1}


def _frames(variant: str, video: str) -> dict[str, Any]:
    from types import SimpleNamespace

    import vrag.indexers.scenes as scenes
    import vrag.media.frames as frames
    from vrag.config import Config

    if variant == "before":
        frames.THREAD_TYPE = "AUTO"
        frames.same_picture = lambda a, b: False
        scenes._still_frame = lambda detector: None
    cfg = Config.load(env={})
    ctx = SimpleNamespace(cfg=cfg, cuts=[], producers={})
    started, cpu = time.perf_counter(), time.process_time()
    stage = scenes.ShotStage()
    stage.setup(ctx)
    stream = frames.FrameStream(video, float(cfg.scene_fps), skip_still=True)
    for frame in stream:
        stage.on_frame(frame, ctx)
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "decoded": stream.decoded,
            "repeated": stream.repeated, "cuts": sorted(round(c, 2) for c in ctx.cuts)}


def _spacy(variant: str) -> dict[str, Any]:
    from vrag.importing import thinc_without_torch
    from vrag.indexers.graph_extract import MODEL

    started, cpu = time.perf_counter(), time.process_time()
    with thinc_without_torch():
        import spacy

        imported, import_cpu = time.perf_counter(), time.process_time()
        nlp = spacy.load(MODEL, exclude=["senter"] if variant == "after" else [])
    return {"import": imported - started, "import_cpu": import_cpu - cpu, "load": time.perf_counter() - imported,
            "load_cpu": time.process_time() - import_cpu, "seconds": time.perf_counter() - started,
            "cpu": time.process_time() - cpu, "pipes": nlp.pipe_names}


def child_part(part: str, variant: str, video: str) -> None:
    """In a fresh process: one part, one variant; prints its JSON."""
    out = {"voice": lambda: _voice(variant), "frames": lambda: _frames(variant, video),
           "spacy": lambda: _spacy(variant)}[part]()
    out["load_average"] = os.getloadavg()[0]
    print(json.dumps(out))


def _line(part: str, runs: dict[str, list[dict[str, Any]]]) -> str:
    def fmt(r: dict[str, Any]) -> str:
        keys = {"voice": ("load", "embed", "cluster"), "frames": (), "spacy": ("import", "load")}[part]
        parts = [f"{k} {r[k]:.2f}" for k in keys]
        parts += {"voice": lambda: [f"+{r['rss_added']:.0f} MB", "torch " + ("imported" if r["torch"] else "not imported")],
                  "frames": lambda: [f"{r['decoded']} decoded", f"{r['repeated']} repeated", f"cuts {r['cuts']}"],
                  "spacy": lambda: [f"import CPU {r['import_cpu']:.2f}", f"load CPU {r['load_cpu']:.2f}"]}[part]()
        return f"{r['seconds']:.2f} s, CPU {r['cpu']:.2f} s ({', '.join(parts)})"

    sides = [f"{side}: " + " / ".join(fmt(r) for r in runs[side]) for side in ("before", "after")]
    loads = [r["load_average"] for side in runs.values() for r in side]
    return f"- `{part}` " + "; ".join(sides) + f" (load average {min(loads):.1f}-{max(loads):.1f})."


def run_parts(parts: list[str], video: Path, repeat: int) -> list[str]:
    """Lines of side-by-side measurements of ``parts``."""
    lines = []
    if "voice" in parts:  # the export exists before the clock, as in any index after the first
        from vrag.backends.voice import ResemblyzerEncoder
        from vrag.config import Config

        ResemblyzerEncoder(Config.load(env={})).load()
    for part in parts:
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(repeat):
            for side in ("before", "after"):
                print(f"{part} {side} ...", file=sys.stderr)
                runs[side].append(child_json("benchmarks.bench_speed",
                                             ["--part", part, "--variant", side, "--child", str(video.resolve())],
                                             quiet=True))
        lines.append(_line(part, runs))
    return lines
