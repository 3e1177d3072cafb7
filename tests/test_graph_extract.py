"""Entity and relation extraction with the packaged spaCy model (first slice of the graph store)."""

from __future__ import annotations

from vrag.indexers.graph_extract import entity_key, extract


def _by_key(mentions):
    out = {}
    for m in mentions:
        out.setdefault(m.key, set()).add(m.type)
    return out


def test_named_entities_concepts_and_their_segments():
    mentions, _ = extract([
        ("s1", "Brenda Plassman, who is a colleague at Duke, has undertaken a study of dementia."),
        ("s2", "Studies of dementia in twins are rare."),
    ])
    keys = _by_key(mentions)
    assert "PERSON" in keys["brenda plassman"] and "ORG" in keys["duke"]
    assert keys["dementia"] == {"CONCEPT"}
    dementia = next(m for m in mentions if m.key == "dementia")
    assert dementia.segments == {"s1", "s2"}
    assert "study" in keys  # "Studies" and "a study" are one concept
    assert all(m.key not in {"who", "a", "the"} for m in mentions)


def test_subject_verb_object_relations_with_provenance():
    _, relations = extract([("s9", "Marie Curie discovered polonium in Paris. Eileen Collins piloted the Space Shuttle.")])
    typed = {(r.source, r.type, r.target): r for r in relations if r.type != "co_occurs"}
    assert ("marie curie", "discover", "polonium") in typed
    assert ("marie curie", "discover in", "paris") in typed
    assert ("eileen collins", "pilot", "space shuttle") in typed
    assert typed[("marie curie", "discover", "polonium")].segments == {"s9"}
    co = [r for r in relations if r.type == "co_occurs" and {r.source, r.target} == {"marie curie", "paris"}]
    assert co and co[0].weight == 1.0


def test_acronyms_defined_in_text_become_aliases_and_tagging_slips_are_dropped():
    mentions, relations = extract([("a", "Traumatic brain injury (TBI) raises the risk of dementia.")])
    assert ("tbi", "alias_of", "traumatic brain injury") in {(r.source, r.type, r.target) for r in relations}
    assert "traumatic" not in _by_key(mentions)  # spaCy tags the adjective as an ORG; the phrase wins


def test_keys_ignore_case_punctuation_and_articles_but_not_name_endings():
    assert entity_key("The Twin Study,") == "twin study"
    assert entity_key("Collins") == "collins" and entity_key("Paris") == "paris"
    assert entity_key("twin studies", "twin study") == "twin study"


from vrag.indexers.graph_extract import Mention, Relation  # noqa: E402
from vrag.indexers.graph_resolve import resolve  # noqa: E402


def _names(entities):
    return {e.name: e for e in entities}


def test_acronym_and_long_form_are_one_entity_with_alias():
    mentions, relations = extract([
        ("a", "Traumatic brain injury (TBI) raises the risk of dementia."),
        ("b", "TBI is increased with risk of dementia."),
    ])
    entities, index = resolve(mentions, relations)
    tbi = _names(entities)["Traumatic brain injury"]
    assert tbi.type == "CONCEPT" and "TBI" in tbi.aliases and tbi.segments == {"a", "b"}
    assert index[("tbi", "ORG")] == index[("traumatic brain injury", "CONCEPT")] == tbi.entity_id


def test_case_punctuation_and_plural_variants_merge_across_videos():
    mentions, _ = extract([("v1:s", "The twin study looked at dementia."), ("v2:s", "Twin studies of Dementia help.")])
    entities, _ = resolve(mentions, video_of={"v1:s": "v1", "v2:s": "v2"})
    study = [e for e in entities if e.name.lower().startswith("twin stud")]
    assert len(study) == 1 and study[0].segments == {"v1:s", "v2:s"}
    assert len([e for e in entities if e.name.lower() == "dementia"]) == 1


def test_same_surname_different_people_stay_apart():
    m = [
        Mention("John Smith", "PERSON", "john smith", {"s1"}),
        Mention("Mary Smith", "PERSON", "mary smith", {"s2"}),
        Mention("Smith", "PERSON", "smith", {"s3"}),
        Mention("Ada Lovelace", "PERSON", "ada lovelace", {"s4"}),
        Mention("Lovelace", "PERSON", "lovelace", {"s5"}),
        Mention("Ada", "PERSON", "ada", {"s6"}),
    ]
    video = {"s1": "v", "s2": "v", "s3": "v", "s4": "v", "s5": "v", "s6": "v"}
    entities, _ = resolve(m, video_of=video)
    names = _names(entities)
    assert {"John Smith", "Mary Smith", "Smith"} <= set(names)  # ambiguous surname: not guessed
    assert {"Lovelace", "Ada"} <= names["Ada Lovelace"].aliases and names["Ada Lovelace"].segments == {"s4", "s5", "s6"}


def test_incompatible_named_types_never_merge():
    m = [Mention("Jordan", "PERSON", "jordan", {"s1"}), Mention("Jordan", "GPE", "jordan", {"s2"}),
         Mention("jordan", "CONCEPT", "jordan", {"s3"})]
    entities, _ = resolve(m, [Relation("x", "y", "co_occurs")])
    assert sorted(e.type for e in entities) == ["CONCEPT", "GPE", "PERSON"]  # the bare word is ambiguous
