"""Speaker names kept by the knowledge base: renames that survive re-indexing, and voices across videos.

``<kb>/speakers.json`` holds every name a user gave (``vrag speakers rename``): the video's content
id, the label it had, the voice centroid and the name. Re-indexing (which makes new records and may
number speakers differently) re-applies a rename to the video's speaker whose centroid is nearest,
when it is at least :data:`SAME_VIDEO` similar. A named voice also names the speakers of *other*
videos whose centroid is at least :data:`SAME_PERSON` similar (measured: benchmarks/bench_speakers.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from .errors import VragError

__all__ = ["load_renames", "save_rename", "match_names", "SAME_VIDEO", "SAME_PERSON", "FILE"]

FILE = "speakers.json"
#: Cosine similarity at which a stored centroid is the same speaker of the same (re-indexed) video.
SAME_VIDEO = 0.8
#: Cosine similarity at which two videos' speakers are taken for the same person.
SAME_PERSON = 0.85


def _path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / FILE


def load_renames(data_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every stored rename: ``{"video_id", "label", "name", "centroid"}``."""
    path = _path(data_dir)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VragError(f"{path}: cannot read the speaker names: {exc}") from exc
    return [r for r in data.get("renames", []) if isinstance(r, dict) and {"video_id", "name", "centroid"} <= set(r)]


def save_rename(data_dir: str | os.PathLike[str], video_id: str, label: str, name: str,
                centroid: Sequence[float]) -> None:
    """Remember ``name`` for the voice ``centroid`` of ``video_id`` (replacing an earlier name of it)."""
    renames = [r for r in load_renames(data_dir)
               if not (r["video_id"] == video_id and _similar(r["centroid"], centroid) >= SAME_VIDEO)]
    renames.append({"video_id": video_id, "label": label, "name": name, "centroid": [round(float(v), 5) for v in centroid]})
    path = _path(data_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"renames": renames}, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _similar(a: Sequence[float], b: Sequence[float]) -> float:
    from .speakers import cosine

    return float(cosine(a, b)[0, 0])


def match_names(video_id: str, centroids: Sequence[Sequence[float]], renames: Sequence[dict[str, Any]]
                ) -> dict[int, tuple[str, str]]:
    """``{speaker index: (name, kind)}`` from stored names: this video's renames (``user``) by nearest
    centroid, else another video's named voice (``library``) when it is the same person."""
    import numpy as np

    out: dict[int, tuple[str, str]] = {}
    if not renames or not len(centroids):
        return out
    from .speakers import cosine

    for kind, rows, least in (("user", [r for r in renames if r["video_id"] == video_id], SAME_VIDEO),
                              ("library", [r for r in renames if r["video_id"] != video_id], SAME_PERSON)):
        if not rows:
            continue
        sim = cosine(np.asarray(centroids), np.asarray([r["centroid"] for r in rows]))
        for j, row in enumerate(rows):  # each stored name names its nearest speaker
            i = int(sim[:, j].argmax())
            if sim[i, j] >= least and i not in out and all(row["name"] != n for n, _ in out.values()):
                out[i] = (row["name"], kind)
    return out
