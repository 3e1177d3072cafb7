"""The LanceDB store on a real temp directory: upserts, full-text search, filters, quoting."""

from __future__ import annotations

import numpy as np

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
    store.replace_segments("A", [a1, a2], "m", DIM)
    store.replace_segments("B", [b1], "m", DIM)
    store.replace_segments("A", [a1, a2], "m", DIM)  # identical content
    assert store.db.open_table("segments").count_rows() == 3
    a3 = _seg("A", 5, "alpha three", [0, 0, 0, 1])
    store.replace_segments("A", [a1, a3], "m", DIM)
    texts = sorted(s.text for s in store.segments())
    assert texts == ["alpha one", "alpha three", "beta one"]


def test_full_text_index_works_offline_and_sees_later_rows(tmp_path):
    store = Store(tmp_path / "kb")
    store.replace_segments("A", [_seg("A", 0, "the glacier is retreating", [1, 0, 0, 0])], "m", DIM)
    store.finish_writes()
    table = store.db.open_table("segments")
    assert any(ix.index_type == "FTS" for ix in table.list_indices())
    store.replace_segments("B", [_seg("B", 0, "volcanic glacier floods", [0, 1, 0, 0])], "m", DIM)
    table = store.db.open_table("segments")
    hits = table.search("glacier", query_type="fts").limit(5).to_list()
    assert sorted(h["video_id"] for h in hits) == ["A", "B"]  # the unindexed row is searched too


def test_vector_search_filters_and_skips_empty_text(tmp_path):
    store = Store(tmp_path / "kb")
    shot = Segment("A", "shot", 0, 5, "", "shots@1")  # no text: stored with a zero vector, never returned
    store.replace_segments("A", [shot, _seg("A", 0, "alpha", [1, 0, 0, 0])], "m", DIM)
    store.replace_segments("B", [_seg("B", 0, "beta", [0.9, 0.1, 0, 0])], "m", DIM)
    hits = store.vector_search(np.array([1, 0, 0, 0], dtype=np.float32), 10)
    assert [s.text for s, _ in hits] == ["alpha", "beta"]
    assert hits[0][1] > 0.99
    only_b = store.vector_search([1, 0, 0, 0], 10, where="video_id = 'B'")
    assert [s.video_id for s, _ in only_b] == ["B"]


def test_paths_with_quotes_round_trip(tmp_path):
    store = Store(tmp_path / "kb")
    row = {"video_id": "X", "path": "it's here.mp4", "abs_path": "/v/it's here.mp4", "size": 1, "mtime_ns": 1,
           "duration": 1.0, "status": "indexed", "counts": {"asr": 1}}
    store.upsert_video(row)
    (got,) = store.videos_at("/v/it's here.mp4")
    assert got["counts"] == {"asr": 1} and got["path"] == "it's here.mp4"
    store.delete_video("X")
    assert store.videos() == []


def test_ann_search_post_filters_and_falls_back_for_selective_filters(tmp_path, monkeypatch):
    """At ANN size (lowered here to 3,000 rows) the store builds IVF-PQ and filters after the search;
    a filter that leaves fewer than k of the over-fetched candidates falls back to prefiltering."""
    from vrag import store as store_mod

    monkeypatch.setattr(store_mod, "ANN_MIN_ROWS", 3000)
    rng = np.random.default_rng(0)
    dim = 32
    store = Store(tmp_path / "kb")
    for v in range(30):
        vecs = rng.normal(size=(100, dim)).astype(np.float32)
        segs = [Segment(f"V{v}", "asr", i, i + 1.0, f"video {v} line {i}" if i % 10 else "", "test@1",
                        vector=list(vecs[i])) for i in range(100)]
        store.replace_segments(f"V{v}", segs, "m", dim)
    store.finish_writes()
    indexes = {ix.index_type for ix in store.db.open_table("segments").list_indices()}
    assert {"IvfPq", "FTS", "BTree", "Bitmap"} <= indexes, indexes
    probe = store.segments("video_id = 'V7'")[13]
    hits = store.vector_search(probe.vector, 10)
    assert len(hits) == 10 and hits[0][0].segment_id == probe.segment_id and all(s.text for s, _ in hits)
    only = store.vector_search(probe.vector, 10, where="video_id = 'V21'")  # far from the probe: prefiltered
    assert len(only) == 10 and {s.video_id for s, _ in only} == {"V21"} and all(s.text for s, _ in only)
