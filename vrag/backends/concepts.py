"""Visual concepts: ImageNet posteriors projected into the text-embedding space, and honest tags.

A keyframe's vector is the convex combination of the embeddings of its top classes (ConSE,
Norouzi et al., 2014): ``sum_i p_i e(class_i) / sum_i p_i``, where ``e`` is the knowledge base's
text embedder and each class is described by its name, WordNet synonyms, hypernyms ("bird",
"vehicle") and gloss (``imagenet_concepts.json``, made by ``data/make_imagenet_concepts.py``). A
text query's vector is compared to it directly, so "the bird on a branch" reaches a frame the
classifier saw as a robin, a jay or a house finch.

Tags say only what the posterior supports: a class when it is likely, else a hypernym that holds
most of the mass ("bird" when the species is uncertain), with a confidence word; scene words
(beach, grass, sky, dark...) come from the posterior and cheap pixel cues, and are hedged.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Sequence

__all__ = ["user_cache_dir", "concept_table", "ConceptSpace", "concept_space", "top_classes", "statements", "pixel_cues",
           "scene_words", "place", "light", "TOP", "class_text"]

#: Classes of a posterior kept per keyframe (and combined into its vector).
TOP = 10
#: Smallest probability a kept class needs.
_MIN_P = 0.01
#: A class is stated from this probability, a hypernym's summed mass from _SURE (measured on the
#: shared clips: below these, most statements were wrong: "chameleon" for a meadow, "dog" for a bird).
_STATE = 0.65
_SURE = 0.85
#: Classes that fire on any broadcast graphic, slide or screenshot: they shape the vector, never a tag.
_UNRELIABLE = {"website", "television", "monitor", "CRT monitor", "screen", "computer monitor", "envelope", "menu",
               "comic book", "jigsaw puzzle", "vending machine", "book jacket"}
#: Hypernyms a user would type; a tag names one of them when the class itself is unsure.
_EVERYDAY = {"bird", "dog", "cat", "domestic cat", "fish", "snake", "lizard", "turtle", "frog", "monkey", "ape", "bear",
             "insect", "butterfly", "spider", "crab", "shark", "whale", "horse", "cattle", "sheep", "pig", "rabbit",
             "car", "boat", "ship", "aircraft", "airplane", "train", "truck", "bus", "bicycle", "motorcycle",
             "musical instrument", "stringed instrument", "keyboard instrument", "furniture", "seat", "table",
             "garment", "clothing", "hat", "shoe", "bag", "food", "fruit", "vegetable", "flower", "tree", "building",
             "house", "ball", "toy", "computer", "telephone", "camera", "weapon", "tool", "bottle", "dish", "mushroom"}
#: Scene words the posterior implies: classes whose summed probability makes the word likely.
_SCENES = {
    "beach": ("beach", "sandbar", "lakeshore", "promontory", "breakwater"),
    "water": ("beach", "lakeshore", "sandbar", "boathouse", "dock", "paddle", "snorkel", "scuba diver",
              "fountain", "dam", "geyser"),
    "stage": ("stage", "front curtain", "spotlight", "microphone", "acoustic guitar", "electric guitar",
              "grand piano", "cello", "violin", "drum"),
}

#: Classes that are seen out of doors (landscapes, fences, bridges, buildings seen from outside); their
#: summed probability says "outdoors" from _PLACE (with the grass and sky pixel cues, which say it alone).
_OUTDOOR = {"beach", "lakeshore", "sandbar", "promontory", "cliff", "valley", "mountain", "volcano", "coral reef",
            "geyser", "breakwater", "dam", "boathouse", "barn", "split-rail fence", "picket fence", "chain-link fence",
            "stone wall", "park bench", "lawn mower", "suspension bridge", "through arch bridge", "viaduct",
            "lighthouse", "water tower", "bell tower", "castle", "monastery", "palace", "tent", "yurt", "kayak",
            "canoe", "snowmobile", "tractor", "combine harvester", "thatched roof", "patio", "totem pole", "golf cart"}
#: Rooms, furniture and appliances: "indoors" from _PLACE (and a stage, which says it alone).
_INDOOR = {"library", "restaurant", "movie theater", "home theater", "barbershop", "bakery", "bookstore",
           "butcher shop", "candy store", "grocery store", "shoe store", "tobacco shop", "toy store", "planetarium",
           "dining table", "desk", "bookcase", "wardrobe", "couch", "four-poster bed", "infant bed", "shower curtain",
           "bathtub", "toilet seat", "refrigerator", "microwave oven", "dishwasher", "stove", "chiffonier",
           "medicine cabinet", "china cabinet", "filing cabinet", "table lamp", "lampshade", "radiator", "altar",
           "pool table", "barber chair", "printer", "photocopier", "toaster", "espresso machine", "vacuum cleaner",
           "washing machine", "wall clock", "pillow", "quilt", "shoji screen / room divider", "sliding door",
           "entertainment center (furniture)", "rocking chair", "throne", "hot tub", "cradle"}
_PLACE = 0.5


@lru_cache(maxsize=1)
def concept_table() -> list[list[Any]]:
    """[name, synonyms, hypernyms, gloss] for the 1000 ImageNet classes, in class-index order."""
    text = files("vrag.backends").joinpath("imagenet_concepts.json").read_text(encoding="utf-8")
    return json.loads(text)["classes"]


def class_text(entry: Sequence[Any]) -> str:
    """The text a class is embedded as: "golf cart, golfcart: a kind of motor vehicle, vehicle. <gloss>"."""
    name, synonyms, hypernyms, gloss = entry
    head = ", ".join([name, *synonyms[:2]])
    kind = f": a kind of {', '.join(hypernyms[:4])}" if hypernyms else ""
    return f"{head}{kind}. {gloss}"


class ConceptSpace:
    """The 1000 class embeddings for one text embedder, computed once (lazily) per process."""

    def __init__(self, embedder: Any, cache_dir: str | None = None):
        self.embedder = embedder
        self.cache_dir = cache_dir
        self._vectors: Any = None
        self._lock = threading.Lock()
        self._phrases: dict[str, Any] = {}

    def _words(self, phrase: str) -> Any:
        """The embedding of a few scene words (a handful of combinations recur: cached)."""
        if phrase not in self._phrases:
            self._phrases[phrase] = self.embedder.embed([phrase])[0]
        return self._phrases[phrase]

    @property
    def vectors(self) -> Any:
        with self._lock:
            if self._vectors is None:
                self._vectors = self._cached()
            return self._vectors

    def _cached(self) -> Any:
        """The class embeddings, from ``cache_dir`` when an earlier process saved them (1000 texts:
        seconds on a CPU), else embedded and saved there."""
        import hashlib

        import numpy as np

        texts = [class_text(c) for c in concept_table()]
        if not self.cache_dir:
            return self.embedder.embed(texts)
        key = hashlib.blake2b(("\n".join(texts) + self.embedder.model_id).encode(), digest_size=8).hexdigest()
        path = Path(self.cache_dir) / f"imagenet_concepts-{key}.npy"
        try:
            return np.load(path)
        except (OSError, ValueError):
            pass
        vectors = np.asarray(self.embedder.embed(texts), dtype=np.float32)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vectors)
            tmp.replace(path)
        except OSError:  # a read-only cache folder: embed again next time
            pass
        return vectors

    def project(self, classes: Sequence[Sequence[float]], extra: Sequence[str] = (), extra_weight: float = 0.15) -> Any:
        """ConSE vector of ``classes`` ([(index, p)...]), with scene words mixed in at
        ``extra_weight``; L2-normalised. None when there is nothing to project."""
        import numpy as np

        if not classes:
            return None
        idx = np.asarray([int(i) for i, _p in classes])
        p = np.asarray([float(q) for _i, q in classes], dtype=np.float32)
        vector = (p[:, None] * self.vectors[idx]).sum(0) / float(p.sum())
        if extra:
            vector = vector + extra_weight * self._words(", ".join(extra))
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else None


def user_cache_dir() -> str:
    """Where the class embeddings are kept between processes and knowledge bases:
    ``$XDG_CACHE_HOME/vrag`` (``~/.cache/vrag``)."""
    import os

    return str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vrag")


_SPACES: dict[str, ConceptSpace] = {}
_SPACES_LOCK = threading.Lock()


def concept_space(embedder: Any, cache_dir: str | None = None) -> ConceptSpace:
    """The process-wide :class:`ConceptSpace` of ``embedder`` (class texts embedded once, and kept
    in ``cache_dir`` for the next process)."""
    with _SPACES_LOCK:
        space = _SPACES.get(embedder.model_id)
        if space is None:
            space = _SPACES[embedder.model_id] = ConceptSpace(embedder, cache_dir)
        return space


def top_classes(probs: Any, top: int = TOP) -> list[list[float]]:
    """[[class index, p], ...] of the ``top`` most likely classes with p >= 1%."""
    order = probs.argsort()[::-1][:top]
    return [[int(i), round(float(probs[i]), 4)] for i in order if float(probs[i]) >= _MIN_P]


def _mass(classes: Sequence[Sequence[float]]) -> dict[str, float]:
    """Probability mass per class name and per hypernym name."""
    table = concept_table()
    mass: dict[str, float] = {}
    for i, p in classes:
        name, _syn, hypernyms, _gloss = table[int(i)]
        for word in dict.fromkeys([name.lower(), *hypernyms]):
            mass[word] = mass.get(word, 0.0) + float(p)
    return mass


def statements(classes: Sequence[Sequence[float]], scene: dict[str, Any] | None = None) -> list[tuple[str, float]]:
    """What may be said about a keyframe, most confident first: (words, confidence).

    A class is named when it alone is likely (p >= 0.4); otherwise the nearest hypernym that holds
    at least that mass ("bird", "dog", "vehicle"); words as vague as "animal" only from 0.75. Scene
    words follow (see :func:`scene_words`)."""
    table = concept_table()
    out: list[tuple[str, float]] = []
    named: set[str] = set()
    for i, p in classes:
        if float(p) >= _STATE and table[int(i)][0] not in _UNRELIABLE:
            out.append((table[int(i)][0], round(float(p), 2)))
            named.update([table[int(i)][0].lower(), *table[int(i)][2]])
    if not out and classes and table[int(classes[0][0])][0] not in _UNRELIABLE:
        mass = _mass(classes)
        top_hypernyms = table[int(classes[0][0])][2]
        for word in top_hypernyms:  # nearest everyday word first: "bird" before "animal" ("oscine" is no tag)
            if word in _EVERYDAY and mass.get(word, 0.0) >= _SURE:
                out.append((word, round(mass[word], 2)))
                named.add(word)
                break
    for word, conf in scene_words(classes, scene or {}):
        if word not in named:
            out.append((word, conf))
    return out


def scene_words(classes: Sequence[Sequence[float]], scene: dict[str, Any]) -> list[tuple[str, float]]:
    """Scene words from the posterior (beach, stage...) and the pixel cues (outdoors, grass, sky, dark)."""
    table = concept_table()
    names = {i: table[int(i)][0].lower() for i, _p in classes}
    out = []
    for word, members in _SCENES.items():  # two kinds of evidence at least: one class alone is not a scene
        found = [float(p) for i, p in classes if names[i] in members and float(p) >= 0.02]
        if len(found) >= 2 and sum(found) >= 0.5:
            out.append((word, round(sum(found), 2)))
    green, blue, bright = scene.get("green_low", 0.0), scene.get("blue_top", 0.0), scene.get("brightness", 0.5)
    if green >= 0.45 and bright >= 0.3:
        out.append(("grass", round(min(0.9, green), 2)))
    if blue >= 0.5 and scene.get("blue_low", 1.0) < 0.3 and bright >= 0.45:  # blue above, not blue all over
        out.append(("sky", round(min(0.9, blue), 2)))
    if bright < 0.12:
        out.append(("dark", round(1.0 - bright, 2)))
    where = place(classes, scene, [w for w, _c in out])
    return out + ([where] if where else [])


def place(classes: Sequence[Sequence[float]], scene: dict[str, Any], words: Sequence[str] = ()) -> tuple[str, float] | None:
    """("outdoors" | "indoors", confidence), or None when unsure. Outdoors: grass or sky in the
    picture (``words`` from :func:`scene_words`), or landscape classes holding half the mass;
    indoors: a stage, or rooms and furniture holding half the mass. Both, or a dark frame: None
    (measured on the shared clips: ``benchmarks/data/visual_scenes_judged.json``)."""
    table = concept_table()
    mass = {"outdoors": 0.0, "indoors": 0.0}
    for i, p in classes:
        name = table[int(i)][0]
        if name in _OUTDOOR or name in _INDOOR:
            mass["outdoors" if name in _OUTDOOR else "indoors"] += float(p)
    outdoors = max([mass["outdoors"]] + [0.8 for w in words if w in ("grass", "sky")])
    indoors = max([mass["indoors"]] + [0.8 for w in words if w == "stage"])
    if "dark" in words or min(outdoors, indoors) >= _PLACE / 2 or max(outdoors, indoors) < _PLACE:
        return None
    return ("outdoors", round(outdoors, 2)) if outdoors > indoors else ("indoors", round(indoors, 2))


def light(scene: dict[str, Any]) -> str:
    """"dark" or "bright" from a keyframe's mean brightness, "" in between (a measurement,
    never wrong about the picture; said in the structured caption)."""
    bright = float(scene.get("brightness", 0.5))
    return "dark" if bright < 0.12 else "bright" if bright >= 0.75 else ""


def pixel_cues(rgb: Any) -> dict[str, Any]:
    """Cheap colour cues of an RGB uint8 image: mean brightness (0-1), the green fraction of its
    lower half, the sky-blue fraction of its top third, and its dominant colour names."""
    import cv2
    import numpy as np

    small = cv2.resize(rgb, (64, 36), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).astype(np.float32)
    h, s, v = hsv[..., 0] * 2.0, hsv[..., 1] / 255.0, hsv[..., 2] / 255.0
    vivid = (s > 0.25) & (v > 0.2)
    green = vivid & (h >= 60) & (h <= 150)
    sky = (h >= 190) & (h <= 240) & (s > 0.15) & (v > 0.5)
    rows = small.shape[0]
    return {
        "brightness": round(float(v.mean()), 3),
        "green_low": round(float(green[rows // 2 :].mean()), 3),
        "blue_top": round(float(sky[: rows // 3].mean()), 3),
        "blue_low": round(float(sky[-(rows // 3) :].mean()), 3),
        "colours": _colours(h, s, v),
    }


_HUES = ((20, "red"), (45, "orange"), (70, "yellow"), (160, "green"), (200, "cyan"), (260, "blue"),
         (290, "purple"), (335, "pink"), (361, "red"))


def _colours(h: Any, s: Any, v: Any) -> list[str]:
    """Colour names covering at least a fifth of the picture, most common first."""
    import numpy as np

    names = np.full(h.shape, "", dtype=object)
    names[(v < 0.18)] = "black"
    names[(v >= 0.18) & (s < 0.15) & (v > 0.8)] = "white"
    names[(v >= 0.18) & (s < 0.15) & (v <= 0.8)] = "grey"
    hued = names == ""
    lower = 0
    for upper, name in _HUES:
        names[hued & (h >= lower) & (h < upper)] = name
        lower = upper
    values, counts = np.unique(names, return_counts=True)
    order = counts.argsort()[::-1]
    return [str(values[i]) for i in order if counts[i] >= 0.2 * names.size][:3]
