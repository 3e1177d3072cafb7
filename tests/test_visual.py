"""Keyframes, the frames table, thumbnails and query by image, on generated and real video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import EVAL_DIR, eval_file

from vrag import KnowledgeBase
from vrag.errors import ConfigError, MediaError
from support.synth import make_color_video


@pytest.fixture(scope="module")
def visual_kb(tmp_path_factory, lecture):
    d = tmp_path_factory.mktemp("visual")
    cutaway = d / "cutaway.mp4"
    spans = make_color_video(
        cutaway, [("navy", 2.0), ("photo:chelsea", 3.0), ("bars", 2.0), ("photo:rocket", 2.0), ("navy", 2.0)]
    )
    kb = KnowledgeBase(d / "kb", stages=("shot", "frame"))
    report = kb.index([cutaway, lecture[0]])
    assert report.ok, [(r.path, r.reason) for r in report.results]
    return kb, cutaway, spans, lecture


def _frames(kb, name):
    (vid,) = [v["video_id"] for v in kb.status()["videos"] if Path(v["path"]).name == name]
    return sorted(kb.segments(vid, "frame"), key=lambda s: s.start)


def test_a_photo_is_found_by_query_by_image_at_its_time(visual_kb):
    from skimage import data

    kb, cutaway, spans, _ = visual_kb
    result = kb.search(image=data.chelsea(), k=3)
    top = result.to_json()["hits"][0]
    assert top["path"] == str(cutaway) and top["modality"] == "frame"
    assert spans[1][0] - 0.05 <= top["start"] < spans[1][1]
    assert top["score"] > 0.8 and "visual similarity" in top["why"]
    rocket = kb.search(image=data.rocket(), k=1).hits[0]
    assert spans[3][0] - 0.05 <= rocket.start < spans[3][1]


def test_static_shots_get_one_keyframe_each_with_a_thumbnail(visual_kb):
    kb, _cutaway, spans, lecture = visual_kb
    frames = _frames(kb, "cutaway.mp4")
    assert len(frames) == len(spans)  # five static shots, five keyframes
    for seg, (start, end) in zip(frames, spans):
        assert abs(seg.start - start) <= 0.05 and abs(seg.end - end) <= 0.05
        assert (kb.store.path / seg.meta["thumb"]).is_file() and len(seg.vector) == 1280
    slides = _frames(kb, Path(lecture[0]).name)
    assert len(slides) == len(lecture[1])  # one per static slide
    status = {Path(v["path"]).name: v for v in kb.status()["videos"]}
    assert status["cutaway.mp4"]["counts"]["frame"] == len(spans)
    assert status["cutaway.mp4"]["models"]["frame"].startswith("efficientnet-lite0-imagenet")


def test_image_tags_are_kept_only_when_confident(visual_kb):
    kb, *_ = visual_kb
    cat = [s for s in _frames(kb, "cutaway.mp4") if s.meta["tags"]]
    for seg in cat:
        assert all(p >= 0.3 for _name, p in seg.meta["tags"])
    assert any("cat" in name.lower() or "mau" in name.lower() for s in cat for name, _ in s.meta["tags"])


def test_the_keyframe_model_gives_the_same_posterior_on_onnx_runtime_as_on_torch(tmp_path):
    from skimage import data

    from vrag.backends.image_embed import EfficientNetLite0
    from vrag.config import Config

    images = [data.chelsea(), data.rocket(), data.coffee()]
    onnx = EfficientNetLite0(Config.load(env={}, asr_model_cache=str(tmp_path / "models")))
    torch = EfficientNetLite0(Config.load(env={}, keyframe_runtime="torch"))
    (vo, po), (vt, pt) = onnx.posterior(images), torch.posterior(images)
    assert type(onnx.load()).__name__ == "OnnxEfficientNet" and list((tmp_path / "models").glob("*/model.onnx"))
    assert np.abs(po - pt).max() < 1e-4 and (vo * vt).sum(1).min() > 0.9999  # the stored vectors stay comparable
    assert list(po.argmax(1)) == list(pt.argmax(1)) and np.allclose(np.linalg.norm(vo, axis=1), 1.0, atol=1e-5)
    blocked = tmp_path / "a-file"  # a model cache that cannot be a folder: the export cannot be written
    blocked.write_text("")
    fallback = EfficientNetLite0(Config.load(env={}, asr_model_cache=str(blocked)))
    assert np.allclose(fallback.posterior(images[:1])[1], pt[:1], atol=1e-6)  # the same posterior, through torch
    assert type(fallback.load()).__name__ == "EfficientNet"


def test_removing_a_video_removes_its_frames_and_thumbnails(tmp_path):
    video = tmp_path / "v.mp4"
    make_color_video(video, [("red", 1.0), ("photo:coffee", 1.0)])
    kb = KnowledgeBase(tmp_path / "kb", stages=("shot", "frame"))
    kb.index([video])
    (vid,) = [v["video_id"] for v in kb.status()["videos"]]
    assert (kb.store.path / "thumbs" / vid).is_dir()
    kb.remove([video])
    assert kb.store.frames.read() == []
    assert not (kb.store.path / "thumbs" / vid).exists()


def test_query_image_errors_and_clip_wiring(tmp_path, visual_kb):
    kb, *_ = visual_kb
    with pytest.raises(MediaError, match="no such image file"):
        kb.search(image=tmp_path / "missing.jpg")
    (tmp_path / "notes.jpg").write_text("not a picture")
    with pytest.raises(MediaError, match="not a readable image"):
        kb.search(image=tmp_path / "notes.jpg")
    with pytest.raises(ConfigError, match="image_embedder 'clip' needs clip_model"):
        KnowledgeBase(tmp_path / "kb2", image_embedder="clip").index([tmp_path])
    with pytest.raises(ConfigError, match="clip_model='/nowhere/clip-ViT-B-32': no such directory"):
        KnowledgeBase(tmp_path / "kb2", image_embedder="clip", clip_model="/nowhere/clip-ViT-B-32").index([tmp_path])
    from vrag.backends import get_backend

    with pytest.raises(ConfigError, match="cannot embed text"):
        get_backend("image_embed", kb.config).embed_text(["a cat"])


def test_real_cartoon_and_stage_video_get_keyframes_said_outdoors_and_indoors_where_judged(tmp_path):
    import json

    eval_file("media/big_buck_bunny_0_30.webm")
    kb = KnowledgeBase(tmp_path / "kb", stages=("shot", "frame", "caption"))
    kb.index([EVAL_DIR / "media" / "big_buck_bunny_0_30.webm", EVAL_DIR / "media" / "nextqa_4405327307_stage.mp4"])
    judged = json.loads((Path(__file__).parents[1] / "benchmarks/data/visual_scenes_judged.json").read_text())
    said = {"big_buck_bunny_0_30.webm": "outdoors", "nextqa_4405327307_stage.mp4": "indoors"}  # the meadow, the stage
    for name, place in said.items():
        frames = _frames(kb, name)
        assert 2 <= len(frames) <= 40
        assert all(np.isclose(np.linalg.norm(s.vector), 1.0, atol=1e-3) for s in frames)
        truth = sorted((j["start"], j["place"]) for j in judged["keyframes"] if j["file"] == name)
        for seg in frames:  # each place said is the one seen by eye in the judged keyframe nearest in time
            for word in {w for w, _c in seg.meta["tags"]} & {"indoors", "outdoors"}:
                assert word == min(truth, key=lambda jt: abs(jt[0] - seg.start))[1], (name, seg.start, seg.meta["tags"])
        placed = [s for s in frames if place in {w for w, _c in s.meta["tags"]}]
        assert len(placed) >= len(frames) // 2, (name, [s.meta["tags"] for s in frames])
        captions = [c for c in kb.segments(placed[0].video_id, "caption") if place in c.text]
        assert captions and {c.meta["kind"] for c in captions} == {"concepts"}  # the structured captions leave it out
    for query, name, place in (("a scene outdoors", "big_buck_bunny_0_30.webm", "outdoors"),
                               ("indoors on a stage", "nextqa_4405327307_stage.mp4", "indoors")):
        top = kb.search(query, k=1, mode="hybrid").hits[0]
        assert Path(top.path).name == name and place in top.why.split("(")[0], (query, top.why)


def test_structured_captions_combine_tags_screen_text_and_speech(tmp_path, lecture):
    src, spans = lecture
    cat = tmp_path / "cat.mp4"
    make_color_video(cat, [("photo:chelsea", 2.0)])
    kb = KnowledgeBase(tmp_path / "kb")
    kb.index([src, cat])
    (cat_id,) = [v["video_id"] for v in kb.status()["videos"] if v["path"] == str(cat)]
    (cat_caption,) = [c for c in kb.segments(cat_id, "caption") if c.meta["kind"] == "structured"]
    assert cat_caption.text.startswith("Scene 00:00–00:02. Looks like: ")  # a silent photo: tags only
    assert "Colours: " in cat_caption.text
    (cat_seen,) = [c for c in kb.segments(cat_id, "caption") if c.meta["kind"] == "concepts"]
    assert cat_seen.text.startswith("Seen: ") and len(cat_seen.vector) == 384
    captions = [c for c in kb.segments(modality="caption") if c.video_id != cat_id and c.meta["kind"] == "structured"]
    assert len(captions) == len(spans)  # one per keyframe, one keyframe per static slide
    second = captions[1]
    assert 'On screen: "Glacier Retreat; Vatnajokull is shrinking' in second.text
    assert "Said:" in second.text and "single year" in second.text.lower()
    assert "Hawaii" not in second.text  # nothing from the slides before or after
    assert second.producer.startswith("structured-caption(imagenet-tags+ocr+asr; not a VLM)")


def test_captions_can_be_added_later_without_touching_other_records(tmp_path, lecture):
    src, spans = lecture
    kb = KnowledgeBase(tmp_path / "kb", stages=("shot", "asr", "ocr", "frame"))
    kb.index([src])
    assert kb.segments(modality="caption") == []
    before = {s.segment_id for s in kb.segments()}
    (result,) = KnowledgeBase(tmp_path / "kb", stages=("caption",)).index([src]).results
    assert result.status == "indexed" and set(result.timings) >= {"caption"} and "asr" not in result.timings
    captions = kb.segments(modality="caption")
    assert len([c for c in captions if c.meta["kind"] == "structured"]) == len(spans)
    assert len([c for c in captions if c.meta["kind"] == "concepts"]) == len(spans)  # one per keyframe too
    assert {s.segment_id for s in kb.segments() if s.modality != "caption"} == before
    (result,) = KnowledgeBase(tmp_path / "kb", stages=("caption",)).index([src]).results
    assert result.status == "unchanged"


class FakeColourHistogramEmbedder:
    """A FAKE image backend (colour histograms) for testing the model-change plumbing only."""

    settings = ()
    model_id = "fake-colour-histogram"
    dim = 24
    can_embed_text = False

    def __init__(self, cfg):
        pass

    def load(self):
        return self

    def embed_images(self, images):
        out = []
        for img in images:
            hist = np.concatenate([np.histogram(img[..., c], bins=8, range=(0, 256))[0] for c in range(3)])
            out.append(hist / (np.linalg.norm(hist) or 1.0))
        return np.array(out, dtype=np.float32)

    def analyse(self, images, top=5):
        return self.embed_images(images), [[] for _ in images]


def test_an_image_model_change_is_caught_and_reembed_uses_the_thumbnails(tmp_path):
    from vrag.errors import ModelMismatchError

    video = tmp_path / "v.mp4"
    make_color_video(video, [("red", 1.0), ("blue", 1.0)])
    KnowledgeBase(tmp_path / "kb", stages=("shot", "frame")).index([video])
    other = KnowledgeBase(tmp_path / "kb", stages=("shot", "frame"),
                          image_embedder="test_visual:FakeColourHistogramEmbedder")
    with pytest.raises(ModelMismatchError, match="frames were embedded with 'efficientnet-lite0-imagenet' but "
                                                 "image_embedder is 'fake-colour-histogram'; run `vrag reembed"):
        other.index([video])
    assert other.reembed() == {"frames": 2}
    assert other.store.frames.model() == ("fake-colour-histogram", 24)
    blue = np.zeros((32, 32, 3), np.uint8)
    blue[..., 2] = 255
    assert other.search(image=blue, k=1).hits[0].start == pytest.approx(1.0, abs=0.05)
    assert other.reembed() == {}


class FakeColourWordsEmbedder(FakeColourHistogramEmbedder):
    """A FAKE text-capable image backend (colour words -> colour histograms): tests the CLIP-style wiring only."""

    model_id = "fake-colour-words"
    can_embed_text = True
    _RGB = {"red": (255, 0, 0), "blue": (0, 0, 255), "green": (0, 128, 0)}

    def embed_text(self, texts):
        swatches = []
        for text in texts:
            colour = next((rgb for word, rgb in self._RGB.items() if word in text.lower()), (128, 128, 128))
            swatches.append(np.tile(np.array(colour, np.uint8), (8, 8, 1)))
        return self.embed_images(swatches)


def test_a_text_capable_image_model_lets_text_queries_find_frames(tmp_path):
    video = tmp_path / "colours.mp4"
    make_color_video(video, [("red", 1.0), ("blue", 1.0), ("green", 1.0)])
    kb = KnowledgeBase(tmp_path / "kb", stages=("shot", "frame"), image_embedder="test_visual:FakeColourWordsEmbedder")
    kb.index([video])
    hits = kb.search("the blue part", k=3).hits
    assert hits[0].modality == "frame" and hits[0].start == pytest.approx(1.0, abs=0.05)
    assert "text-to-image similarity" in hits[0].why


def _byte_chars() -> list[str]:
    """CLIP's byte-level BPE alphabet (the GPT-2 byte-to-unicode table)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def make_fake_tiny_clip(folder: Path) -> Path:
    """A FAKE, randomly initialised, tiny CLIP (16-d) saved as a sentence-transformers model directory:
    tests the image_embedder=clip wiring only (its vectors mean nothing)."""
    import json

    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    raw = folder / "hf"
    raw.mkdir(parents=True, exist_ok=True)
    chars = _byte_chars()
    vocab = {t: i for i, t in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    (raw / "vocab.json").write_text(json.dumps(vocab))
    (raw / "merges.txt").write_text("#version: 0.2\n")
    layers = dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2)
    cfg = CLIPConfig(text_config=dict(vocab_size=len(vocab), max_position_embeddings=77, **layers),
                     vision_config=dict(image_size=32, patch_size=8, **layers), projection_dim=16)
    torch.manual_seed(0)
    CLIPModel(cfg).save_pretrained(raw)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=images, tokenizer=CLIPTokenizer(str(raw / "vocab.json"), str(raw / "merges.txt"))
                  ).save_pretrained(raw)
    out = folder / "fake-tiny-clip"
    SentenceTransformer(modules=[models.CLIPModel(str(raw))]).save(str(out))
    return out


def test_clip_from_a_local_directory_indexes_frames_and_answers_text_queries(tmp_path):
    clip = make_fake_tiny_clip(tmp_path / "models")
    video = tmp_path / "colours.mp4"
    make_color_video(video, [("red", 1.0), ("photo:chelsea", 1.0), ("bars", 1.0)])
    kb = KnowledgeBase(tmp_path / "kb", stages=("shot", "frame"), image_embedder="clip", clip_model=str(clip))
    assert kb.index([video]).ok
    assert kb.store.frames.model() == ("clip:fake-tiny-clip", 16)
    frames = kb.segments(modality="frame")
    assert len(frames) == 3 and all(len(f.vector) == 16 for f in frames)
    hits = kb.search("a cat", k=3).hits
    assert hits and all(h.modality == "frame" and "text-to-image similarity" in h.why for h in hits)


def test_a_clip_hub_name_is_fetched_only_from_the_cache_when_the_hub_is_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    video = tmp_path / "v.mp4"
    make_color_video(video, [("red", 1.0)])
    kb = KnowledgeBase(tmp_path / "kb", stages=("shot", "frame"), image_embedder="clip",
                       clip_model="fake-owner/fake-clip-not-cached")
    with pytest.raises(ConfigError, match="'fake-owner/fake-clip-not-cached' is not in the local model cache and "
                                          "the model hub is offline"):
        kb.index([video])
