"""The benchmark plots are real PNGs with the data drawn (matplotlib, Agg backend)."""

from __future__ import annotations

from PIL import Image

from benchmarks.bench_plots import latency_plot, stages_plot


def _not_blank(path):
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width > 300 and im.height > 100
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    return len(colours) > 20  # lines, bars, text and antialiasing: not an empty canvas


def test_latency_and_stage_plots_are_written(tmp_path):
    lat = latency_plot([10_000, 100_000, 1_000_000], {"naive": [(33, 40), (40, 50), (46, 52)],
                                                      "graph": [(32, 45), (60, 90), (121, 188)]},
                       {"naive": 100, "graph": 500}, tmp_path / "deep" / "lat.png", "latency")
    stages = stages_plot({"1 min": {"asr": 2.0, "ocr": 1.0}, "10 min": {"asr": 14.0, "ocr": 7.4, "frames": 13.3}},
                         ["frames", "ocr", "asr"], tmp_path / "stages.png", "stages")
    assert _not_blank(lat) and _not_blank(stages)
