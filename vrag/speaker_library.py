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

__all__ = ["load_renames", "save_rename", "match_names", "known_speakers", "resolve_speaker", "list_speakers", "rename_speaker", "add_person", "SAME_VIDEO", "SAME_PERSON", "FILE"]

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


def known_speakers(store: Any, video_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The speakers of the indexed videos (their ``speaker`` records): ``{"video_id", "label", "name",
    "source", "seconds", "turns", "centroid", "segment_id"}``, in video and label order."""
    from .filters import Filter

    out = []
    for seg in store.segments.read(Filter.of(list(video_ids) if video_ids else None, "speaker")):
        meta = seg.meta or {}
        out.append({"video_id": seg.video_id, "label": meta.get("label", ""), "name": meta.get("name", ""),
                    "source": meta.get("source", ""), "seconds": meta.get("seconds", 0.0),
                    "turns": meta.get("turns", []), "centroid": meta.get("centroid", []), "segment_id": seg.segment_id})
    return sorted(out, key=lambda s: (s["video_id"], int(s["label"][1:]) if s["label"][1:].isdigit() else 0))


def resolve_speaker(speakers: Sequence[dict[str, Any]], wanted: str) -> str:
    """The stored speaker name ``wanted`` means: the same name in any case, else the one name that has
    ``wanted`` as a whole word ("Glenn" -> "Glenn Healy"), else a label ("S2")."""
    key = " ".join(wanted.split()).lower()
    names = sorted({s["name"] for s in speakers if s["name"]})
    exact = [n for n in names if n.lower() == key]
    if exact:
        return exact[0]
    partial = [n for n in names if key in n.lower().split()]
    if len(partial) == 1:
        return partial[0]
    shown = ", ".join(n for n in names if not _is_label(n))
    if len(partial) > 1:
        raise VragError(f"speaker {wanted!r} is ambiguous: {', '.join(partial)}")
    raise VragError(f"speaker {wanted!r}: no indexed speaker has that name"
                    + (f" (named speakers: {shown})" if shown else " (no speaker has a name yet: `vrag speakers list`)"))


def _is_label(name: str) -> bool:
    return name[:1] == "S" and name[1:].isdigit()


def list_speakers(store: Any, video_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """:func:`known_speakers` with each one's path and the same voice in other videos (``same_as``)."""
    import numpy as np

    from .speakers import cosine

    everyone = known_speakers(store)
    mine = [s for s in everyone if video_ids is None or s["video_id"] in video_ids]
    paths = store.videos.paths({s["video_id"] for s in mine})
    out = []
    for spk in mine:
        others = [o for o in everyone if o["video_id"] != spk["video_id"] and o["centroid"]]
        same = []
        if others and spk["centroid"]:
            sim = cosine(np.asarray(spk["centroid"]), np.asarray([o["centroid"] for o in others]))[0]
            same = [{"video_id": o["video_id"], "label": o["label"], "name": o["name"], "similarity": round(float(v), 3)}
                    for o, v in zip(others, sim) if v >= SAME_PERSON]
        row = {k: v for k, v in spk.items() if k not in ("centroid", "segment_id")}
        out.append(dict(row, path=paths.get(spk["video_id"], ""), same_as=same))
    return out


def rename_speaker(store: Any, video_id: str, speaker: str, name: str) -> dict[str, Any]:
    """Give ``speaker`` (a label such as "S2", or its name) of ``video_id`` the name ``name``: kept in
    ``speakers.json`` (re-applied after re-indexing), written to its speech records now, and given to the
    same voice in other videos that has no stronger name (heard or read in that video, or given by a user)."""
    import numpy as np

    from .speakers import cosine

    name = " ".join(str(name).split())
    if not name or len(name) > 100:
        raise VragError(f"speaker name {name!r}: give a name of 1 to 100 characters")
    speakers = known_speakers(store, [video_id])
    want = " ".join(speaker.split()).lower()
    found = [s for s in speakers if want in (s["label"].lower(), s["name"].lower())]
    if not found:
        labels = ", ".join(f"{s['label']} ({s['name']})" if s["name"] != s["label"] else s["label"] for s in speakers)
        raise VragError(f"speaker {speaker!r}: video {video_id[:12]} has no such speaker"
                        + (f"; its speakers: {labels}" if labels else " (no speakers found in it: is it indexed with "
                           "the speakers stage?)"))
    spk = found[0]
    taken = [s["label"] for s in speakers if s["label"] != spk["label"] and s["name"].lower() == name.lower()]
    if taken:
        raise VragError(f"speaker name {name!r}: {taken[0]} of video {video_id[:12]} already has it")
    save_rename(store.files.local_dir, video_id, spk["label"], name, spk["centroid"])
    _write_names(store, video_id, {spk["label"]: (name, "user")})
    also = []
    others = [o for o in known_speakers(store) if o["video_id"] != video_id and o["centroid"]
              and o["source"] in ("voice", "library", "addressed")]
    if others and spk["centroid"]:
        sim = cosine(np.asarray(spk["centroid"]), np.asarray([o["centroid"] for o in others]))[0]
        for other, v in zip(others, sim):
            if v >= SAME_PERSON:
                _write_names(store, other["video_id"], {other["label"]: (name, "library")})
                also.append({"video_id": other["video_id"], "label": other["label"], "similarity": round(float(v), 3)})
    return {"video_id": video_id, "label": spk["label"], "name": name, "also": also}


def _write_names(store: Any, video_id: str, names: dict[str, tuple[str, str]]) -> None:
    """Rewrite the speech and speaker records of ``video_id`` with ``{label: (name, kind)}`` (vectors kept)."""
    from .filters import Filter

    records = store.segments.read(Filter.of(video_id, ("asr", "speaker")))
    for seg in records:
        meta = seg.meta or {}
        if seg.modality == "asr" and meta.get("speaker_label") in names:
            meta["speaker"], meta["speaker_source"] = names[meta["speaker_label"]]
        elif seg.modality == "speaker" and meta.get("label") in names:
            meta["name"], meta["source"] = names[meta["label"]]
    model = store.segments.model()
    if model is None:
        return
    store.segments.replace(video_id, records, model[0], model[1], modalities=["asr", "speaker"])


def add_person(store: Any, video_id: str, name: str, label: str) -> bool:
    """Make the named speaker ``label`` of ``video_id`` a PERSON mention of its graph extraction, its speech
    records the provenance (as the graph stage does for names found while indexing); False when the video
    has no graph extraction. The graph itself is rebuilt by the caller."""
    from .filters import Filter
    from .indexers.graph_extract import Mention, Relation, entity_key

    data = store.graph.extraction_arrow()
    rows = [r for r in (data.to_pylist() if data is not None else []) if r["video_id"] == video_id]
    if not rows:
        return False
    turns = {s.segment_id for s in store.segments.read(Filter.of(video_id, "asr"))
             if (s.meta or {}).get("speaker_label") == label}
    mentions = [Mention(r["name"], r["type"], r["key"], set(json.loads(r["segments"]))) for r in rows if r["kind"] == "mention"]
    relations = [Relation(r["key"], r["target"], r["type"], float(r["weight"]), set(json.loads(r["segments"])))
                 for r in rows if r["kind"] == "relation"]
    key = entity_key(name)
    same = next((m for m in mentions if m.type == "PERSON" and m.key == key), None)
    if same is not None:
        same.segments |= turns
    else:
        mentions.append(Mention(name, "PERSON", key, turns))
    store.graph.replace_extraction(video_id, mentions, relations)
    return True
