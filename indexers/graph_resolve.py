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
from dataclasses import dataclass, field
from typing import Iterable

from .graph_extract import Mention, Relation

__all__ = ["Entity", "resolve"]

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


class _Union:
    """Union-find over (key, type) that refuses to join groups holding two different named types
    (so a CONCEPT "jordan" cannot bridge the PERSON and the GPE)."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}
        self.named: dict[tuple[str, str], set[str]] = {}

    def find(self, x: tuple[str, str]) -> tuple[str, str]:
        if x not in self.parent:
            self.parent[x] = x
            self.named[x] = {x[1]} & _NAMED
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: tuple[str, str], b: tuple[str, str]) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if len(self.named[ra] | self.named[rb]) > 1:
            return False
        self.parent[rb] = ra
        self.named[ra] |= self.named.pop(rb)
        return True


def resolve(mentions: Iterable[Mention], relations: Iterable[Relation] = (),
            video_of: dict[str, str] | None = None) -> tuple[list[Entity], dict[tuple[str, str], str]]:
    """Entities from ``mentions``; also returns (key, type) -> entity_id for mapping relations.

    ``video_of`` maps segment id -> video id (surname matching stays within one video).
    """
    mentions = list(mentions)
    video_of = video_of or {}
    uf = _Union()
    by_key: dict[str, list[Mention]] = {}
    for m in mentions:
        uf.find((m.key, m.type))
        by_key.setdefault(m.key, []).append(m)
    # same key, compatible types: one entity. A PERSON and a GPE "Jordan" stay two, and a plain
    # "jordan" next to both is ambiguous and stays on its own.
    for ms in by_key.values():
        named_types = {m.type for m in ms} & _NAMED
        for i, a in enumerate(ms):
            for b in ms[i + 1 :]:
                soft = a.type in _SOFT or b.type in _SOFT
                if a.type == b.type or (soft and len(named_types) <= 1):
                    uf.union((a.key, a.type), (b.key, b.type))
    # acronyms defined in the text join their long form (and whatever the acronym merged with)
    for r in relations:
        if r.type == "alias_of":
            for short in by_key.get(r.source, []):
                for long in by_key.get(r.target, []):
                    uf.union((long.key, long.type), (short.key, short.type))
    _surnames(mentions, uf, video_of)
    groups: dict[tuple[str, str], list[Mention]] = {}
    for m in mentions:
        groups.setdefault(uf.find((m.key, m.type)), []).append(m)
    entities, index = [], {}
    for members in groups.values():
        entity = _entity(members)
        entities.append(entity)
        for m in members:
            index[(m.key, m.type)] = entity.entity_id
    return entities, index


def _surnames(mentions: list[Mention], uf: _Union, video_of: dict[str, str]) -> None:
    people = [m for m in mentions if m.type == "PERSON"]
    full = [m for m in people if " " in m.key]
    for lone in (m for m in people if " " not in m.key):
        videos = {video_of.get(s, s) for s in lone.segments}
        candidates = {  # "Plassman" or "Brenda" for "Brenda Plassman"
            m.key for m in full
            if lone.key in (m.key.split()[0], m.key.split()[-1]) and videos & {video_of.get(s, s) for s in m.segments}
        }
        if len(candidates) == 1:  # two people with this surname: leave it apart rather than guess
            target = next(m for m in full if m.key in candidates)
            uf.union((target.key, target.type), (lone.key, lone.type))


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
    key = min((m.key for m in members if m.name == name), default=members[0].key)
    ident = hashlib.blake2b(f"{key}|{kind}".encode(), digest_size=8).hexdigest()
    return Entity(
        entity_id=ident,
        name=name,
        type=kind,
        aliases={m.name for m in members if m.name.lower() != name.lower()},
        keys={m.key for m in members},
        segments={s for m in members for s in m.segments},
    )
