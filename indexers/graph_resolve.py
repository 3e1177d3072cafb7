"""Entity resolution: merge mentions that name the same thing, keep their aliases.

Second slice of the knowledge-graph store (issue 4). Mentions merge when their keys
match (case, punctuation, articles and plurals already normalised) and their types are
compatible; an acronym defined in the text ("traumatic brain injury (TBI)") joins its
long form; a lone first name or surname joins the one full name in the same video
that starts or ends with it, and stays apart when two people share it. Two named types that disagree (a
PERSON and a GPE "Jordan") never merge.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Iterable

from .graph_extract import Mention, Relation, ocr_reading

__all__ = ["Entity", "resolve", "merge_similar", "ocr_reading"]

#: Types that describe *what* something is; two different ones never merge.
_NAMED = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
#: spaCy tags acronyms like "TBI" as ORG; an ORG that is an alias of a concept is not a clash.
_SOFT = {"CONCEPT", "ACRONYM"}


@dataclass
class Entity:
    entity_id: str
    name: str
    type: str
    aliases: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    segments: set[str] = field(default_factory=set)
    scope: str = ""  # a video id when the entity is a lone name known only inside that video


Node = tuple[str, str, str]  # (key, type, scope)


class _Union:
    """Union-find over mention nodes that refuses to join groups holding two different named types
    (so a CONCEPT "jordan" cannot bridge the PERSON and the GPE)."""

    def __init__(self) -> None:
        self.parent: dict[Node, Node] = {}
        self.named: dict[Node, set[str]] = {}

    def find(self, x: Node) -> Node:
        if x not in self.parent:
            self.parent[x] = x
            self.named[x] = {x[1]} & _NAMED
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: Node, b: Node) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if len(self.named[ra] | self.named[rb]) > 1:
            return False
        self.parent[rb] = ra
        self.named[ra] |= self.named.pop(rb)
        return True


def resolve(mentions: Iterable[Mention], relations: Iterable[Relation] = (),
            video_of: dict[str, str] | None = None) -> tuple[list[Entity], dict[Node, str]]:
    """Entities from ``mentions``; also returns mention node (key, type, scope) -> entity_id.

    ``video_of`` maps segment id -> video id (surname matching stays within one video).
    Mentions with a ``scope`` (a video id) only merge with mentions of that video or unscoped ones
    through a name, never with a same-key mention scoped to another video.
    """
    mentions = list(mentions)
    video_of = video_of or {}
    uf = _Union()
    by_key: dict[str, list[Mention]] = {}
    for m in mentions:
        uf.find(m.node)
        by_key.setdefault(m.key, []).append(m)
    # same key, compatible types, same scope: one entity. A PERSON and a GPE "Jordan" stay two, and a
    # plain "jordan" next to both is ambiguous and stays on its own.
    for ms in by_key.values():
        named_types = {m.type for m in ms} & _NAMED
        for i, a in enumerate(ms):
            for b in ms[i + 1 :]:
                soft = a.type in _SOFT or b.type in _SOFT
                if a.scope == b.scope and (a.type == b.type or (soft and len(named_types) <= 1)):
                    uf.union(a.node, b.node)
    # acronyms defined in the text join their long form (and whatever the acronym merged with)
    for r in relations:
        if r.type == "alias_of":
            videos = {video_of.get(s, s) for s in r.segments}
            for short in by_key.get(r.source, []):
                for long in by_key.get(r.target, []):
                    if {short.scope, long.scope} <= videos | {""}:
                        uf.union(long.node, short.node)
    _ocr_variants(by_key, uf)
    _surnames(mentions, uf, video_of)
    groups: dict[Node, list[Mention]] = {}
    for m in mentions:
        groups.setdefault(uf.find(m.node), []).append(m)
    entities, index = [], {}
    for members in groups.values():
        entity = _entity(members)
        entities.append(entity)
        for m in members:
            index[m.node] = entity.entity_id
    return entities, index


def _ocr_variants(by_key: dict[str, list[Mention]], uf: _Union) -> None:
    """A name read off the screen with an OCR confusion joins the name it is misread from, when that
    name was found too ("TBl" on a slide beside "TBI" in the talk); types must agree as in any merge."""
    from .graph_extract import entity_key

    for ms in list(by_key.values()):
        for m in ms:
            reading = ocr_reading(m.name)
            for other in by_key.get(entity_key(reading), ()) if reading else ():
                if other.scope in ("", m.scope) or not m.scope:
                    uf.union(other.node, m.node)


def _surnames(mentions: list[Mention], uf: _Union, video_of: dict[str, str]) -> None:
    by_part: dict[str, list[tuple[Mention, set[str]]]] = {}  # first or last name -> (full name, its videos)
    for m in mentions:
        if m.type == "PERSON" and " " in m.key:
            words = m.key.split()
            videos = {video_of.get(s, s) for s in m.segments}
            for part in {words[0], words[-1]}:
                by_part.setdefault(part, []).append((m, videos))
    for lone in (m for m in mentions if " " not in m.key and (m.type == "PERSON" or (m.scope and m.type == "CONCEPT"))):
        videos = {video_of.get(s, s) for s in lone.segments}
        # "Plassman" or "Brenda" for "Brenda Plassman", in the same video
        candidates = {m.key: m for m, seen in by_part.get(lone.key, ()) if videos & seen}
        if len(candidates) == 1:  # two people with this surname: leave it apart rather than guess
            uf.union(next(iter(candidates.values())).node, lone.node)


def _entity(members: list[Mention]) -> Entity:
    named = [m for m in members if m.type in _NAMED]
    concepts = [m for m in members if m.type == "CONCEPT"]
    # the most specific type wins; among names the most frequent; an acronym that is an alias
    # of a concept takes the concept's type (spaCy's ORG on "TBI" is a guess)
    if concepts and any(m.type == "ACRONYM" for m in members):
        kind = "CONCEPT"
    elif named:
        kind = max({m.type for m in named}, key=lambda t: sum(len(m.segments) for m in named if m.type == t))
    else:
        kind = members[0].type if members[0].type != "ACRONYM" else "CONCEPT"
    # the canonical name: the longest form of the chosen type (long forms beat acronyms)
    pool = [m for m in members if m.type == kind] or members
    name = max(pool, key=lambda m: (len(m.key.split()), sum(len(x.segments) for x in members if x.key == m.key))).name
    canonical = min((m for m in members if m.name == name), key=lambda m: (m.key, m.scope), default=members[0])
    ident = hashlib.blake2b(f"{canonical.key}|{kind}|{canonical.scope}".encode(), digest_size=8).hexdigest()
    return Entity(
        entity_id=ident,
        name=name,
        type=kind,
        scope=canonical.scope,
        aliases={m.name for m in members if m.name.lower() != name.lower()},
        keys={m.key for m in members},
        segments={s for m in members for s in m.segments},
    )


#: Near-duplicates must also be spelled alike: embeddings alone call "left hemisphere" and
#: "right hemisphere" the same (cosine 0.95 with MiniLM); spelling alone merges "type 1/2 diabetes".
MIN_SPELLING = 0.88
#: Rows compared at once inside one block (bounded memory on big graphs).
_BLOCK_ROWS = 2048


def merge_similar(entities: list[Entity], vectors: Any, threshold: float) -> tuple[list[Entity], Any, dict[str, str]]:
    """Merge near-duplicate entities the key rules missed ("Alzheimer's disease" / "Alzheimer disease",
    "World Health Organisation" / "...Organization", an ASR "Plassmann" next to "Plassman").

    Two entities merge when they have the same type and scope, name vectors with cosine >= ``threshold``,
    a spelling ratio >= :data:`MIN_SPELLING` and the same numbers in their names. Candidates are only
    compared within blocks sharing the first or last three letters, so the cost stays near-linear.
    Returns (entities, their vectors, merged entity_id -> surviving entity_id). ``threshold`` >= 1 disables.
    """
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    if threshold >= 1.0 or len(entities) < 2:
        return entities, vectors, {}
    squashed = [re.sub(r"[\W_]+", "", e.name.lower()) for e in entities]
    blocks: dict[tuple[str, str, str, str], list[int]] = {}
    for i, (e, sq) in enumerate(zip(entities, squashed)):
        if len(sq) >= 3:
            blocks.setdefault(("head", e.type, e.scope, sq[:3]), []).append(i)
            blocks.setdefault(("tail", e.type, e.scope, sq[-3:]), []).append(i)
    parent = list(range(len(entities)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for members in blocks.values():
        if len(members) < 2:
            continue
        idx = np.asarray(members)
        for lo in range(0, len(idx), _BLOCK_ROWS):
            rows = idx[lo : lo + _BLOCK_ROWS]
            sims = vectors[rows] @ vectors[idx].T
            for r, c in zip(*np.nonzero(sims >= threshold)):
                a, b = int(rows[r]), int(idx[c])
                if a < b and find(a) != find(b) and _alike(entities[a].name, entities[b].name):
                    parent[find(b)] = find(a)
    groups: dict[int, list[int]] = {}
    for i in range(len(entities)):
        groups.setdefault(find(i), []).append(i)
    out, keep, remap = [], [], {}
    for members in groups.values():
        # the best-supported spelling names the merged entity
        best = max(members, key=lambda i: (len(entities[i].segments), len(entities[i].name), entities[i].name))
        entity = entities[best]
        for i in members:
            if i != best:
                other = entities[i]
                entity.aliases |= other.aliases | {other.name}
                entity.keys |= other.keys
                entity.segments |= other.segments
                remap[other.entity_id] = entity.entity_id
        entity.aliases = {a for a in entity.aliases if a.lower() != entity.name.lower()}
        out.append(entity)
        keep.append(best)
    return out, vectors[keep] if keep else vectors[:0], remap


def _alike(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return re.findall(r"\d+", a) == re.findall(r"\d+", b) and SequenceMatcher(None, a, b).ratio() >= MIN_SPELLING
