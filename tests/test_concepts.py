"""Visual concepts (issue 19): ImageNet posteriors projected into the text space (ConSE), honest tags,
pixel cues, and text queries that reach keyframes with the default, packaged models."""

from __future__ import annotations

import numpy as np
import pytest

from vrag import KnowledgeBase
from vrag.backends.concepts import (
    ConceptSpace,
    concept_space,
    concept_table,
    light,
    pixel_cues,
    place,
    scene_words,
    statements,
    top_classes,
)
from support.synth import make_color_video


def _index(name: str) -> int:
    return next(i for i, c in enumerate(concept_table()) if c[0] == name)


def test_the_shipped_table_names_every_class_with_its_wordnet_hypernyms():
    table = concept_table()
    assert len(table) == 1000
    golf = table[_index("golf cart")]
    assert "vehicle" in golf[2] and "golfers" in golf[3]
    assert "bird" in table[_index("American robin")][2]
    assert "dog" in table[_index("Golden Retriever")][2]
    assert table[_index("beach")][1][:1] == ["seashore"]


def test_a_confident_class_is_stated_an_unsure_one_is_not():
    cart = [[_index("golf cart"), 0.89], [_index("lawn mower"), 0.02]]
    assert statements(cart) == [("golf cart", 0.89), ("outdoors", 0.91)]  # golf carts and lawn mowers are outside
    meadow = [[_index("chameleon"), 0.29], [_index("agama"), 0.08], [_index("European green lizard"), 0.03]]
    assert statements(meadow) == []  # Big Buck Bunny's meadow is not stated to be a lizard
    website = [[_index("website"), 0.8]]
    assert statements(website) == []  # fires on every broadcast graphic: shapes the vector, never a tag
    birds = [[_index("American robin"), 0.3], [_index("goldfinch"), 0.3], [_index("house finch"), 0.3]]
    assert statements(birds) == [("bird", 0.9)]  # the species is unsure, that it is a bird is not


def test_scene_words_need_two_kinds_of_evidence_and_pixel_cues_are_hedged():
    stage = [[_index("front curtain"), 0.5], [_index("spotlight"), 0.1], [_index("stage"), 0.09]]
    assert ("stage", 0.69) in scene_words(stage, {})
    assert scene_words([[_index("front curtain"), 0.6]], {}) == []  # a blue desktop wallpaper is no stage
    lawn = np.zeros((90, 160, 3), np.uint8)
    lawn[:45] = (200, 200, 210)
    lawn[45:] = (40, 160, 40)
    cues = pixel_cues(lawn)
    assert cues["green_low"] > 0.9 and "green" in cues["colours"]
    assert [w for w, _ in scene_words([], cues)] == ["grass", "outdoors"]
    sky = np.zeros((90, 160, 3), np.uint8)
    sky[:45] = (90, 160, 235)
    sky[45:] = (120, 90, 60)
    assert [w for w, _ in scene_words([], pixel_cues(sky))] == ["sky", "outdoors"]
    wallpaper = np.full((90, 160, 3), (90, 160, 235), np.uint8)
    assert scene_words([], pixel_cues(wallpaper)) == []  # blue all over is not a sky
    assert [w for w, _ in scene_words([], pixel_cues(np.zeros((90, 160, 3), np.uint8)))] == ["dark"]  # no place


def test_indoors_and_outdoors_are_said_only_when_the_evidence_agrees():
    lawn = {"green_low": 0.8, "brightness": 0.5, "blue_top": 0.0}
    assert scene_words([], lawn) == [("grass", 0.8), ("outdoors", 0.8)]
    stage = [[_index("front curtain"), 0.5], [_index("spotlight"), 0.1], [_index("stage"), 0.09]]
    assert ("indoors", 0.8) in scene_words(stage, {})
    assert place([[_index("valley"), 0.3], [_index("lakeshore"), 0.25]], {}) == ("outdoors", 0.55)
    assert place([[_index("desk"), 0.3], [_index("bookcase"), 0.3]], {}) == ("indoors", 0.6)
    assert place([[_index("valley"), 0.3]], {}) is None  # a third of the mass: unsure, nothing said
    assert place([[_index("dining table"), 0.6]], {}, ["grass"]) is None  # a table on a lawn: both, nothing said
    assert place([[_index("golf cart"), 0.9]], {}, ["dark"]) is None  # a dark frame: nothing said
    assert [w for w, _c in statements([[_index("website"), 0.9]], lawn)] == ["grass", "outdoors"]
    assert (light({"brightness": 0.05}), light({"brightness": 0.5}), light({"brightness": 0.9}), light({})) == \
        ("dark", "", "bright", "")


def test_the_concept_vector_lives_in_the_text_space(tmp_path):
    from vrag.backends.text_embed import text_embedder
    from vrag.config import Config

    embedder = text_embedder(Config.load())
    assert concept_space(embedder) is concept_space(embedder)  # class texts embedded once per process
    space = ConceptSpace(embedder, str(tmp_path / "cache"))
    assert space.vectors.shape == (1000, 384)
    (saved,) = (tmp_path / "cache").glob("imagenet_concepts-*.npy")
    assert np.array_equal(np.load(saved), ConceptSpace(embedder, str(tmp_path / "cache")).vectors)  # the next process reads it
    robin = space.project([[_index("American robin"), 0.6], [_index("jay"), 0.2]])
    cart = space.project([[_index("golf cart"), 0.9]])
    assert robin.shape == (384,) and np.isclose(np.linalg.norm(robin), 1.0, atol=1e-4)
    q = embedder.embed(["a bird sitting on a branch", "a small vehicle on a golf course"])
    assert q[0] @ robin > q[0] @ cart + 0.1
    assert q[1] @ cart > q[1] @ robin + 0.1
    assert top_classes(np.eye(1000, dtype=np.float32)[7]) == [[7, 1.0]]


@pytest.fixture(scope="module")
def photo_kb(tmp_path_factory):
    d = tmp_path_factory.mktemp("concepts")
    video = d / "photos.mp4"
    spans = make_color_video(video, [("navy", 2.0), ("photo:chelsea", 3.0), ("bars", 2.0), ("photo:rocket", 3.0)])
    kb = KnowledgeBase(d / "kb", stages=("shot", "frame", "caption"))
    assert kb.index([video]).ok
    return kb, spans


def test_text_queries_find_the_photos_through_their_concepts(photo_kb):
    kb, spans = photo_kb
    concepts = [c for c in kb.segments(modality="caption") if c.meta.get("kind") == "concepts"]
    assert concepts and all(len(c.vector) == 384 for c in concepts)
    for query, (start, end) in (("a cat", spans[1]), ("a space rocket launch", spans[3])):
        for mode in ("naive", "hybrid"):
            top = kb.search(query, k=3, mode=mode).hits[0]
            assert top.start < end and top.end > start, (query, mode, top.why)  # hybrid merges adjacent records
            assert top.why.startswith(f"seen at 00:0{int(start)}: ") and "visual match" in top.why, top.why
    cat_words = kb.search("a cat", k=1, mode="naive").hits[0].why
    assert "cat" in cat_words.split(":", 2)[2]  # the matched concept is named


def test_the_structured_caption_states_only_the_calibrated_tags(photo_kb):
    kb, spans = photo_kb
    frames = sorted(kb.segments(modality="frame"), key=lambda s: s.start)
    for seg in frames:
        assert len(seg.meta["classes"]) <= 10 and {"brightness", "colours"} <= set(seg.meta["scene"])
        assert all(conf >= 0.3 for _w, conf in seg.meta["tags"])
    cat = next(s for s in frames if spans[1][0] - 0.05 <= s.start < spans[1][1])
    assert any("cat" in w.lower() or "mau" in w.lower() for w, _c in cat.meta["tags"]), cat.meta["tags"]


def test_answers_carry_the_visual_evidence_line(photo_kb):
    kb, spans = photo_kb
    asked = kb.ask("Is there a cat?", mode="naive")
    seen = [line for line in asked.answer.text.splitlines() if line.startswith("seen at ")]
    assert seen and "visual match" in seen[0] and "photos.mp4" in seen[0], asked.answer.text
    assert any(c["start"] < spans[1][1] and c["end"] > spans[1][0] for c in asked.citations)
