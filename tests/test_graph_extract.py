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
