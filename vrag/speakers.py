"""Who speaks: speaker turns from voice embeddings, and the labels they give speech records.

Windows of ~1.6 s (hop 0.8 s) inside the spoken words are embedded by the voice encoder and
clustered (average-linkage agglomerative on cosine distance, stopped at a measured threshold), so the
number of speakers is found, not given. Clusters with less than :data:`MIN_SPEAKER_SECONDS` of speech
are folded into the nearest other one (a cough or a laugh is not a speaker). Every word is given the
speaker whose centroid its covering windows are closest to; a record takes its words' majority by
time, or is split where the speaker changes when both sides are long enough (:func:`label_records`).
Speakers are numbered "S1", "S2", ... by first appearance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

__all__ = ["Speaker", "Diarization", "speech_spans", "windows_in", "diarize", "word_speakers", "label_records",
           "WINDOW", "HOP", "THRESHOLD", "MIN_SPEAKER_SECONDS", "cosine", "renumber"]

#: Window length and hop (seconds) of the voice embeddings.
WINDOW = 1.6
HOP = 0.8
#: Cosine distance at which clustering stops (measured: benchmarks/bench_speakers.py, BENCHMARKS.md).
THRESHOLD = 0.35
#: A cluster with less speech than this is not a speaker of its own (2.0 split the 11 s JFK recording:
#: "ask not what", 2.1 s, became a second voice).
MIN_SPEAKER_SECONDS = 3.0
#: Most windows clustered directly (the pairwise distances grow with the square: 2500 windows = 50 MB,
#: about 35 minutes of speech); longer speech clusters an even sample of its windows.
MAX_CLUSTERED = 2500
#: Words closer than this belong to one stretch of speech.
_JOIN_GAP = 0.6
#: Shortest stretch of speech that gets a window of its own.
_MIN_WINDOW = 0.5
#: A record is split at a change of speaker only when both sides have this much speech and 2+ words.
_SPLIT_MIN_SECONDS = 0.8

Span = tuple[float, float]


@dataclass
class Speaker:
    """One voice of a video: its label, centroid (unit vector) and turns."""

    label: str
    centroid: list[float]
    turns: list[Span] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(b - a for a, b in self.turns)


@dataclass
class Diarization:
    """Speakers of one video and the window embeddings they come from."""

    speakers: list[Speaker]
    windows: list[Span]
    #: index into ``speakers`` of each window
    labels: list[int]
    #: (n_windows, n_speakers) cosine similarity of each window to each speaker
    similarity: Any


def cosine(a: Any, b: Any) -> Any:
    """Cosine similarity matrix of the rows of ``a`` and ``b``."""
    import numpy as np

    a = np.atleast_2d(np.asarray(a, dtype=np.float32))
    b = np.atleast_2d(np.asarray(b, dtype=np.float32))
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-9)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-9)
    return a @ b.T


def speech_spans(words: Sequence[Span]) -> list[Span]:
    """Stretches of speech: word spans joined across gaps shorter than :data:`_JOIN_GAP`."""
    out: list[list[float]] = []
    for a, b in sorted(words):
        if out and a - out[-1][1] < _JOIN_GAP:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out if b > a]


def windows_in(spans: Sequence[Span], window: float = WINDOW, hop: float = HOP) -> list[Span]:
    """Embedding windows covering ``spans``: ``window`` long every ``hop`` seconds (the last one ends
    with the span); a span shorter than a window is one window of its own length (at least 0.5 s)."""
    out: list[Span] = []
    for a, b in spans:
        length = b - a
        if length < _MIN_WINDOW:
            mid = (a + b) / 2
            out.append((max(0.0, mid - _MIN_WINDOW / 2), max(0.0, mid - _MIN_WINDOW / 2) + _MIN_WINDOW))
            continue
        if length <= window:
            out.append((a, b))
            continue
        t = a
        while t + window < b - 1e-6:
            out.append((t, t + window))
            t += hop
        out.append((b - window, b))
    return out


def diarize(embeddings: Any, windows: Sequence[Span], threshold: float = THRESHOLD,
            min_seconds: float = MIN_SPEAKER_SECONDS) -> Diarization:
    """Cluster window ``embeddings`` into speakers (their number found by ``threshold``)."""
    import numpy as np

    emb = np.asarray(embeddings, dtype=np.float32)
    if len(emb) == 0:
        return Diarization([], [], [], np.zeros((0, 0)))
    if len(emb) > MAX_CLUSTERED:  # hours of speech: cluster an even sample, then every window to its nearest
        sample = np.linspace(0, len(emb) - 1, MAX_CLUSTERED).astype(int)
        labels = cosine(emb, _centroids(emb[sample], _cluster(emb[sample], threshold))).argmax(axis=1)
    else:
        labels = _cluster(emb, threshold)
    labels = _fold_small(emb, labels, windows, min_seconds)
    for _ in range(2):  # refine: each window to its nearest centroid
        cents = _centroids(emb, labels)
        labels = cosine(emb, cents).argmax(axis=1)
        labels = _fold_small(emb, labels, windows, min_seconds)
    # number by first appearance
    order: list[int] = []
    for i in np.argsort([w[0] for w in windows], kind="stable"):
        if labels[i] not in order:
            order.append(int(labels[i]))
    labels = np.array([order.index(int(x)) for x in labels])
    cents = _centroids(emb, labels)
    sim = cosine(emb, cents)
    speakers = [Speaker(f"S{k + 1}", [round(float(v), 5) for v in cents[k]]) for k in range(len(cents))]
    return Diarization(speakers, list(windows), [int(x) for x in labels], sim)


def _cluster(emb: Any, threshold: float) -> Any:
    import numpy as np

    if len(emb) < 2:
        return np.zeros(len(emb), dtype=int)
    if not np.all(np.any(emb, axis=1)):
        raise ValueError("Cosine affinity cannot be used when X contains zero vectors")
    from scipy.cluster.hierarchy import linkage

    # scikit-learn's AgglomerativeClustering(metric="cosine", linkage="average", distance_threshold=...)
    # builds this tree and cuts it like _cut; importing it cost 1.5 s of a fresh index (bench-speed)
    tree = linkage(emb, method="average", metric="cosine")
    return _cut(tree[:, :2].astype(int), int(np.count_nonzero(tree[:, 2] >= threshold)) + 1, len(emb))


def _cut(children: Any, clusters: int, leaves: int) -> Any:
    """Labels of the ``leaves`` when the merge tree ``children`` is cut into ``clusters``: the last
    merges undone, clusters numbered as scikit-learn's ``_hc_cut`` numbers them."""
    import heapq

    import numpy as np

    nodes = [-(int(max(children[-1])) + 1)]
    for _ in range(clusters - 1):
        pair = children[-nodes[0] - leaves]
        heapq.heappush(nodes, -int(pair[0]))
        heapq.heappushpop(nodes, -int(pair[1]))
    labels = np.zeros(leaves, dtype=np.intp)
    for k, node in enumerate(nodes):
        stack, mine = [-node], []
        while stack:
            at = stack.pop()
            if at < leaves:
                mine.append(at)
            else:
                stack += [int(c) for c in children[at - leaves]]
        labels[mine] = k
    return labels


def _centroids(emb: Any, labels: Any) -> Any:
    import numpy as np

    ks = sorted(set(int(x) for x in labels))
    cents = np.stack([emb[labels == k].mean(axis=0) for k in ks])
    return cents / np.maximum(np.linalg.norm(cents, axis=1, keepdims=True), 1e-9)


def _fold_small(emb: Any, labels: Any, windows: Sequence[Span], min_seconds: float) -> Any:
    """Clusters with less than ``min_seconds`` of (distinct) speech join their nearest big cluster."""
    import numpy as np

    labels = np.asarray(labels)
    ks = sorted(set(int(x) for x in labels))
    covered = {k: _covered([windows[i] for i in np.flatnonzero(labels == k)]) for k in ks}
    big = [k for k in ks if covered[k] >= min_seconds] or [max(ks, key=lambda k: covered[k])]
    if len(big) == len(ks):
        return np.unique(labels, return_inverse=True)[1]
    big_cents = np.stack([emb[labels == k].mean(axis=0) for k in big])
    out = labels.copy()
    small = ~np.isin(labels, big)
    out[small] = np.array(big)[cosine(emb[small], big_cents).argmax(axis=1)]
    return np.unique(out, return_inverse=True)[1]


def _covered(spans: Sequence[Span]) -> float:
    total, end = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def word_speakers(d: Diarization, words: Sequence[Span]) -> list[int]:
    """The speaker (index) of each word: the best mean similarity over the windows around its middle
    (the nearest window when none covers it)."""
    import numpy as np

    if not d.speakers:
        return [0] * len(words)
    starts = np.array([w[0] for w in d.windows])
    ends = np.array([w[1] for w in d.windows])
    mids_w = (starts + ends) / 2
    out = []
    for a, b in words:
        mid = (a + b) / 2
        near = np.flatnonzero((starts <= mid) & (ends >= mid))
        if not len(near):
            near = np.array([int(np.argmin(np.abs(mids_w - mid)))])
        out.append(int(d.similarity[near].mean(axis=0).argmax()))
    return out


def label_records(d: Diarization, records: Sequence[Any]) -> list[list[tuple[int, list[dict]]]]:
    """For each speech record, its pieces as ``(speaker index, words)``: one piece (the speaker of most
    of its time) unless the speaker changes inside it with :data:`_SPLIT_MIN_SECONDS` and two words on
    both sides. A record without word times is one piece spoken by the speaker of its middle."""
    out = []
    for rec in records:
        words = [w for w in (rec.meta or {}).get("words") or [] if "start" in w and "end" in w]
        if not words:
            who = word_speakers(d, [(rec.start, rec.end)])[0]
            out.append([(who, [])])
            continue
        whos = word_speakers(d, [(float(w["start"]), float(w["end"])) for w in words])
        runs: list[tuple[int, list[dict]]] = []
        for who, w in zip(whos, words):
            if runs and runs[-1][0] == who:
                runs[-1][1].append(w)
            else:
                runs.append((who, [w]))
        out.append(_settle(runs))
    return out


def _seconds(words: Sequence[dict]) -> float:
    return sum(float(w["end"]) - float(w["start"]) for w in words)


def _settle(runs: list[tuple[int, list[dict]]]) -> list[tuple[int, list[dict]]]:
    """Merge runs too short to stand alone into a neighbour, then join equal neighbours."""
    def weak(run: tuple[int, list[dict]]) -> bool:
        return len(run[1]) < 2 or _seconds(run[1]) < _SPLIT_MIN_SECONDS

    while len(runs) > 1 and any(weak(r) for r in runs):
        i = min(range(len(runs)), key=lambda j: _seconds(runs[j][1]))
        if i == 0:
            j = 1
        elif i == len(runs) - 1:
            j = i - 1
        else:
            j = i - 1 if _seconds(runs[i - 1][1]) >= _seconds(runs[i + 1][1]) else i + 1
        who = runs[j][0]
        merged = sorted(runs[i][1] + runs[j][1], key=lambda w: float(w["start"]))
        lo, hi = min(i, j), max(i, j)
        runs[lo:hi + 1] = [(who, merged)]
        joined: list[tuple[int, list[dict]]] = []
        for run in runs:
            if joined and joined[-1][0] == run[0]:
                joined[-1] = (run[0], joined[-1][1] + run[1])
            else:
                joined.append(run)
        runs = joined
    return runs


def renumber(d: Diarization, used: Sequence[int]) -> dict[int, int]:
    """Keep only the speakers ``used`` (indices in order of first appearance), numbered S1, S2, ... in
    that order; returns old index -> new index."""
    import numpy as np

    order = list(dict.fromkeys(int(u) for u in used))
    mapping = {old: new for new, old in enumerate(order)}
    d.speakers = [d.speakers[old] for old in order]
    for new, spk in enumerate(d.speakers):
        spk.label = f"S{new + 1}"
    d.similarity = np.asarray(d.similarity)[:, order] if len(order) else d.similarity
    d.labels = [mapping.get(x, -1) for x in d.labels]
    return mapping
