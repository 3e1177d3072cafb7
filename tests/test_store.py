"""The LanceDB store on a real temp directory: upserts, full-text search, filters, quoting."""

from __future__ import annotations

import numpy as np
import pytest

from vrag.filters import Filter
from vrag.schema import Segment
from vrag.store import Store

DIM = 4


def _seg(vid, start, text, vec):
    return Segment(vid, "asr", start, start + 1.0, text, "test@1", vector=list(vec))


def test_replace_is_an_upsert_that_drops_what_a_video_no_longer_has(tmp_path):
    store = Store(tmp_path / "kb")
    a1 = _seg("A", 0, "alpha one", [1, 0, 0, 0])
    a2 = _seg("A", 1, "alpha two", [0, 1, 0, 0])
    b1 = _seg("B", 0, "beta one", [0, 0, 1, 0])
    store.segments.replace("A", [a1, a2], "m", DIM)
    store.segments.replace("B", [b1], "m", DIM)
    store.segments.replace("A", [a1, a2], "m", DIM)  # identical content
    assert store.segments.count() == 3
    a3 = _seg("A", 5, "alpha three", [0, 0, 0, 1])
    store.segments.replace("A", [a1, a3], "m", DIM)
    texts = sorted(s.text for s in store.segments.read())
    assert texts == ["alpha one", "alpha three", "beta one"]


def test_full_text_index_works_offline_and_sees_later_rows(tmp_path):
    store = Store(tmp_path / "kb")
    store.segments.replace("A", [_seg("A", 0, "the glacier is retreating", [1, 0, 0, 0])], "m", DIM)
    store.finish_writes()
    assert "FTS" in store.segments.index_types()
    store.segments.replace("B", [_seg("B", 0, "volcanic glacier floods", [0, 1, 0, 0])], "m", DIM)
    hits = store.segments.fts_search("glacier", 5)
    assert sorted(s.video_id for s, _ in hits) == ["A", "B"]  # the unindexed row is searched too


def test_vector_search_filters_and_skips_empty_text(tmp_path):
    store = Store(tmp_path / "kb")
    shot = Segment("A", "shot", 0, 5, "", "shots@1")  # no text: stored with a zero vector, never returned
    store.segments.replace("A", [shot, _seg("A", 0, "alpha", [1, 0, 0, 0])], "m", DIM)
    store.segments.replace("B", [_seg("B", 0, "beta", [0.9, 0.1, 0, 0])], "m", DIM)
    hits = store.segments.vector_search(np.array([1, 0, 0, 0], dtype=np.float32), 10)
    assert [s.text for s, _ in hits] == ["alpha", "beta"]
    assert hits[0][1] > 0.99
    only_b = store.segments.vector_search([1, 0, 0, 0], 10, where=Filter.of("B"))
    assert [s.video_id for s, _ in only_b] == ["B"]


def test_paths_with_quotes_round_trip(tmp_path):
    store = Store(tmp_path / "kb")
    row = {"video_id": "X", "path": "it's here.mp4", "abs_path": "/v/it's here.mp4", "size": 1, "mtime_ns": 1,
           "duration": 1.0, "status": "indexed", "counts": {"asr": 1}}
    store.videos.upsert(row)
    (got,) = store.videos.at("/v/it's here.mp4")
    assert got["counts"] == {"asr": 1} and got["path"] == "it's here.mp4"
    store.delete_video("X")
    assert store.videos.all() == []


def test_ann_search_post_filters_and_falls_back_for_selective_filters(tmp_path, monkeypatch):
    """At ANN size (lowered here to 3,000 rows) the store builds IVF-PQ and filters after the search;
    a filter that leaves fewer than k of the over-fetched candidates falls back to prefiltering."""
    from vrag.store import records

    monkeypatch.setattr(records, "ANN_MIN_ROWS", 3000)
    rng = np.random.default_rng(0)
    dim = 32
    store = Store(tmp_path / "kb")
    for v in range(30):
        vecs = rng.normal(size=(100, dim)).astype(np.float32)
        segs = [Segment(f"V{v}", "asr", i, i + 1.0, f"video {v} line {i}" if i % 10 else "", "test@1",
                        vector=list(vecs[i])) for i in range(100)]
        store.segments.replace(f"V{v}", segs, "m", dim)
    store.finish_writes()
    indexes = store.segments.index_types()
    assert {"IvfPq", "FTS", "BTree", "Bitmap"} <= indexes, indexes
    probe = store.segments.read(Filter.of("V7"))[13]
    hits = store.segments.vector_search(probe.vector, 10)
    assert len(hits) == 10 and hits[0][0].segment_id == probe.segment_id and all(s.text for s, _ in hits)
    only = store.segments.vector_search(probe.vector, 10, where=Filter.of("V21"))  # far from the probe: prefiltered
    assert len(only) == 10 and {s.video_id for s, _ in only} == {"V21"} and all(s.text for s, _ in only)


# -- Filter -> Lance SQL, against a real table ------------------------------------------------------

HOSTILE = ("a'b", "x' OR '1'='1", "x') OR (1=1", "x'; DELETE FROM segments; --", "'", "''", "\\' OR 1=1 --")


def _filter_store(tmp_path):
    """Records of three videos (one whose id has a quote), three modalities, times 0..9, some empty."""
    store = Store(tmp_path / "kb")
    rows = {}
    for vid in ("A", "B", "a'b"):
        segs = []
        for i in range(10):
            modality = ("asr", "ocr", "shot")[i % 3]
            text = "" if modality == "shot" else f"{vid} {modality} line {i}"
            segs.append(Segment(vid, modality, float(i), i + 1.5, text, "test@1", vector=[1.0, i, 0, 0]))
        store.segments.replace(vid, segs, "m", DIM)
        rows[vid] = segs
    return store, [s for segs in rows.values() for s in segs]


def _ids(segs):
    return sorted(s.segment_id for s in segs)


def test_filter_fields_each_select_what_they_say(tmp_path):
    store, every = _filter_store(tmp_path)
    read = lambda **fields: _ids(store.segments.read(Filter(**fields)))  # noqa: E731
    assert _ids(store.segments.read()) == _ids(every) and _ids(store.segments.read(Filter())) == _ids(every)
    assert read(video_ids=("a'b",)) == _ids(s for s in every if s.video_id == "a'b")
    assert read(video_ids=("A", "a'b")) == _ids(s for s in every if s.video_id in ("A", "a'b"))
    assert read(modalities=("ocr",)) == _ids(s for s in every if s.modality == "ocr")
    assert read(modalities=("asr", "shot")) == _ids(s for s in every if s.modality in ("asr", "shot"))
    picked = [every[3].segment_id, every[17].segment_id]
    assert read(segment_ids=tuple(picked)) == sorted(picked)
    assert read(start=5.0) == _ids(s for s in every if s.end >= 5.0)
    assert read(end=2.0) == _ids(s for s in every if s.start <= 2.0)
    assert read(start=3.0, end=4.0) == _ids(s for s in every if s.end >= 3.0 and s.start <= 4.0)
    assert read(ends_within=(4.5, 6.5)) == _ids(s for s in every if 4.5 <= s.end <= 6.5)
    assert read(has_text=True) == _ids(s for s in every if s.text)
    both = Filter.of("a'b", ["asr", "ocr"], start=2.0, end=7.0, has_text=True)
    assert _ids(store.segments.read(both)) == _ids(
        s for s in every if s.video_id == "a'b" and s.modality in ("asr", "ocr") and s.end >= 2.0 and s.start <= 7.0)
    assert len(store.segments.read(Filter.of("A"), limit=4)) == 4


def test_empty_tuples_select_nothing_and_hostile_values_are_only_values(tmp_path):
    store, every = _filter_store(tmp_path)
    for fields in ({"video_ids": ()}, {"modalities": ()}, {"segment_ids": ()}):
        assert store.segments.read(Filter(**fields)) == []
        assert store.segments.vector_search([1, 0, 0, 0], 5, where=Filter(**fields)) == []
    for value in HOSTILE[1:]:
        assert store.segments.read(Filter.of(value)) == []
        assert store.segments.read(Filter.of(None, value)) == []
        assert store.segments.read(Filter(segment_ids=(value,))) == []
        assert store.segments.vector_search([1, 0, 0, 0], 5, where=Filter.of(["A", value])) != []
        assert store.videos.get(value) is None and store.videos.paths([value]) == {} and store.videos.at(value) == []
    assert store.segments.count() == len(every)  # nothing was deleted or changed
    assert {s.video_id for s, _ in store.segments.vector_search([1, 0, 0, 0], 30, where=Filter.of("a'b"))} == {"a'b"}


def test_filter_sql_text_quotes_values_and_checks_numbers():
    from vrag.errors import StoreError
    from vrag.store.sql import where

    assert where(None) is None and where(Filter()) is None
    assert where(Filter.of("a'b")) == "video_id = 'a''b'"
    assert where(Filter.of(["a", "b'c"], "asr")) == "video_id IN ('a', 'b''c') AND modality = 'asr'"
    assert where(Filter(segment_ids=())) == "false"
    assert where(Filter(start=1.5, end=2)) == "`end` >= 1.5 AND start <= 2.0"
    assert where(Filter(ends_within=(1, 2.25), has_text=True)) == "`end` >= 1.0 AND `end` <= 2.25 AND text != ''"
    for bad in (float("nan"), float("inf"), "1) OR (1=1"):
        with pytest.raises(StoreError):
            where(Filter(start=bad))


def test_searches_apply_filters_on_both_record_tables(tmp_path):
    store, every = _filter_store(tmp_path)
    store.finish_writes()
    hits = store.segments.fts_search("line", 50, where=Filter.of("a'b", "ocr"))
    assert hits and {(s.video_id, s.modality) for s, _ in hits} == {("a'b", "ocr")}
    near = store.segments.vector_search([1, 0, 0, 0], 50, where=Filter(start=8.0))
    assert near and all(s.end >= 8.0 and s.text for s, _ in near)
    frame = Segment("a'b", "frame", 1.0, 1.0, "", "kf@1", meta={"thumb": "t.jpg"}, vector=[0, 1])
    store.frames.replace("a'b", [frame], "img", 2, modalities=["frame"])
    (hit, score), = store.frames.vector_search([0, 1], 5, where=Filter.of("a'b", "frame"))
    assert hit.segment_id == frame.segment_id and score > 0.99  # frames have no text: not filtered on it
    assert store.frames.vector_search([0, 1], 5, where=Filter.of("A")) == []


# -- the table objects --------------------------------------------------------------------------------

def test_record_tables_know_their_model_and_refuse_another(tmp_path):
    from vrag.errors import ModelMismatchError, StoreError

    store = Store(tmp_path / "kb")
    assert store.segments.model() is None and store.frames.model() is None and store.segments.count() == 0
    assert store.segments.read() == [] and store.segments.arrow() is None and store.segments.index_types() == set()
    store.segments.replace("A", [_seg("A", 0, "alpha", [1, 0, 0, 0])], "m", DIM)
    assert store.segments.model() == ("m", DIM) and store.frames.model() is None
    assert store.records("segments") is store.segments and store.records("frames") is store.frames
    store.segments.check_model("m")
    with pytest.raises(ModelMismatchError, match=r"segments were embedded with 'm' but text_embedder is 'other'; "
                                                  r"run `vrag reembed --db .*` to re-embed them"):
        store.segments.check_model("other")
    with pytest.raises(ModelMismatchError):
        store.segments.vector_search([1, 0, 0, 0], 3, model_id="other")
    with pytest.raises(StoreError, match="belongs to B, not A"):
        store.segments.replace("A", [_seg("B", 0, "beta", [0, 1, 0, 0])], "m", DIM)
    with pytest.raises(StoreError, match=r"segments of \['asr'\] given to replace only \['ocr'\]"):
        store.segments.replace("A", [_seg("A", 0, "alpha", [1, 0, 0, 0])], "m", DIM, modalities=["ocr"])
    assert store.segments.arrow(["segment_id", "text"]).column_names == ["segment_id", "text"]


def test_replace_of_some_modalities_keeps_the_others_and_reembed_rebuilds_the_index(tmp_path):
    store = Store(tmp_path / "kb")
    asr = _seg("A", 0, "glacier speech", [1, 0, 0, 0])
    ocr = Segment("A", "ocr", 0, 1, "glacier slide", "test@1", vector=[0, 1, 0, 0])
    store.segments.replace("A", [asr, ocr], "m", DIM)
    new_ocr = Segment("A", "ocr", 2, 3, "moraine slide", "test@1", vector=[0, 0, 1, 0])
    assert store.segments.replace("A", [new_ocr], "m", DIM, modalities=["ocr"]) == 1
    assert sorted(s.text for s in store.segments.read()) == ["glacier speech", "moraine slide"]
    assert store.segments.replace("A", [], "m", DIM, modalities=["ocr"]) == 0
    assert [s.text for s in store.segments.read()] == ["glacier speech"]
    store.finish_writes()
    seen = []
    n = store.segments.reembed(lambda texts: np.ones((len(texts), 3), np.float32), "m2", 3,
                               progress=lambda done, total: seen.append((done, total)))
    assert n == 1 and seen == [(1, 1)] and store.segments.model() == ("m2", 3)
    assert store.segments.read()[0].vector == [1.0, 1.0, 1.0]
    assert "FTS" in store.segments.index_types() and not store.indexes_behind()


def test_videos_table(tmp_path):
    store = Store(tmp_path / "kb")
    assert not store.exists() and store.videos.all() == [] and store.videos.count() == 0
    assert store.videos.arrow() is None
    for vid, path in (("V2", "b.mp4"), ("V1", "a.mp4")):
        store.videos.upsert({"video_id": vid, "path": path, "abs_path": f"/v/{path}", "status": "indexed",
                             "errors": ["asr: no speech"], "recipe": {"asr": "x"}})
    assert store.exists() and store.has_tables(["videos"]) and not store.has_tables(["videos", "segments"])
    assert [r["video_id"] for r in store.videos.all()] == ["V1", "V2"]  # by path
    got = store.videos.get("V2")
    assert got["errors"] == ["asr: no speech"] and got["recipe"] == {"asr": "x"} and got["counts"] == {}
    assert got["warnings"] == [] and got["indexed_at"] is not None
    store.videos.upsert(dict(got, status="partial"))
    assert store.videos.count() == 2 and store.videos.get("V2")["status"] == "partial"
    assert store.videos.paths(["V1", "V2", "V1", "nope"]) == {"V1": "a.mp4", "V2": "b.mp4"}
    assert store.videos.paths([]) == {} and [r["video_id"] for r in store.videos.at("/v/a.mp4")] == ["V1"]
    assert store.videos.arrow().num_rows == 2


class _M:
    def __init__(self, key, segments, type_="PERSON"):
        self.key, self.name, self.type, self.segments = key, key.title(), type_, set(segments)


class _R:
    def __init__(self, source, target, segments):
        self.source, self.target, self.type, self.weight, self.segments = source, target, "works_at", 2.0, set(segments)


def test_graph_tables(tmp_path):
    store = Store(tmp_path / "kb")
    assert store.graph.version("mentions") is None and store.graph.extraction_arrow() is None
    assert store.graph.build_info() == {} and store.graph.entities() == [] and store.graph.relations() == []
    assert store.graph.search_entities([1, 0], 3) == [] and store.graph.name_vectors() == {}
    store.graph.replace_extraction("A", [_M("ada lovelace", ["s1", "s2"])], [_R("ada lovelace", "babbage", ["s2"])])
    store.graph.replace_extraction("a'b", [_M("grace hopper", ["s9"])], [])
    first = store.graph.version("mentions")
    rows = store.graph.extraction_arrow().to_pylist()
    assert sorted((r["video_id"], r["kind"], r["key"]) for r in rows) == [
        ("A", "mention", "ada lovelace"), ("A", "relation", "ada lovelace"), ("a'b", "mention", "grace hopper")]
    mention = next(r for r in rows if r["kind"] == "mention" and r["video_id"] == "A")
    assert mention["weight"] == 2.0 and mention["segments"] == '["s1", "s2"]'
    store.graph.replace_extraction("A", [_M("ada lovelace", ["s3"])], [])  # replaces only A's
    assert store.graph.version("mentions") > first
    assert sorted((r["video_id"], r["segments"]) for r in store.graph.extraction_arrow().to_pylist()) == [
        ("A", '["s3"]'), ("a'b", '["s9"]')]

    relation = {"source": "e1", "target": "e2", "type": "works_at", "weight": 2.0, "provenance": "[]"}
    assert store.graph.write_relations(iter([relation])) == 1
    entities = [{"entity_id": f"e{i}", "name": name, "type": "PERSON", "aliases": "[]", "description": "",
                 "vector": vec, "videos": "[]", "provenance": "[]"}
                for i, (name, vec) in enumerate((("Ada", [1.0, 0.0]), ("Grace", [0.0, 1.0])), start=1)]
    assert store.graph.write_entities(iter(entities), 2, recipe='{"embedder": "m"}', source="7") == 2
    assert store.graph.build_info() == {"recipe": '{"embedder": "m"}', "source": "7"}
    assert [e["name"] for e in store.graph.entities()] == ["Ada", "Grace"] and "vector" not in store.graph.entities()[0]
    assert store.graph.entities(["entity_id"]) == [{"entity_id": "e1"}, {"entity_id": "e2"}]
    assert store.graph.relations() == [relation]
    assert store.graph.name_vectors()["Grace"].tolist() == [0.0, 1.0]
    (best, score), *_ = store.graph.search_entities([0.1, 1.0], 2)
    assert best == "e2" and score > 0.99
    version = store.graph.version("entities")
    assert store.graph.write_entities(iter(entities[:1]), 2, recipe="r", source="8") == 1  # replaces the table
    assert store.graph.version("entities") != version and [e["name"] for e in store.graph.entities()] == ["Ada"]

    store.delete_video("a'b")
    assert {r["video_id"] for r in store.graph.extraction_arrow().to_pylist()} == {"A"}


def test_import_rows_and_delete_video_cover_every_table(tmp_path):
    scratch, store = Store(tmp_path / "scratch"), Store(tmp_path / "kb")
    seg = _seg("A", 0, "alpha", [1, 0, 0, 0])
    frame = Segment("A", "frame", 1.0, 1.0, "", "kf@1", vector=[0, 1])
    scratch.segments.replace("A", [seg], "m", DIM)
    scratch.frames.replace("A", [frame], "img", 2, modalities=["frame"])
    scratch.graph.replace_extraction("A", [_M("ada lovelace", [seg.segment_id])], [])
    store.segments.replace("B", [_seg("B", 0, "beta", [0, 1, 0, 0])], "m", DIM)
    store.segments.import_rows("A", scratch.segments.arrow())
    store.frames.import_rows("A", scratch.frames.arrow())
    store.graph.import_extraction("A", scratch.graph.extraction_arrow())
    store.graph.import_extraction("A", scratch.graph.extraction_arrow())  # again: replaced, not doubled
    store.videos.upsert({"video_id": "A", "path": "a.mp4", "abs_path": "/v/a.mp4", "status": "indexed"})
    assert sorted(s.video_id for s in store.segments.read()) == ["A", "B"]
    assert store.frames.model() == ("img", 2) and [s.segment_id for s in store.frames.read()] == [frame.segment_id]
    assert store.graph.extraction_arrow().num_rows == 1
    store.delete_video("A")
    assert [s.video_id for s in store.segments.read()] == ["B"] and store.frames.count() == 0
    assert store.graph.extraction_arrow().num_rows == 0 and store.videos.all() == []


def test_create_tables_is_for_object_storage_only(tmp_path):
    store = Store(tmp_path / "kb")
    store.create_tables(("m", DIM), ("img", 2), graph=True)
    assert not store.has_tables(["videos"])  # a local run creates its tables as it writes (under the write lock)
