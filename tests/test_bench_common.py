"""The benchmarks' shared helper: BENCHMARKS.md sections are replaced in place, the header names the machine."""

from __future__ import annotations

import platform
import re
from pathlib import Path

from benchmarks import bench, bench_graph, bench_objectstore, bench_qa, bench_query, bench_ray, bench_router
from benchmarks.common import HEADER, Section, command_line, machine, measured

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = [bench.SECTION, bench.EVAL_SECTION, bench_graph.SECTION, bench_qa.SECTION, bench_router.SECTION,
            bench_query.SECTION, bench_ray.SECTION, bench_objectstore.SECTION]


def test_every_benchmark_rewrites_its_own_section_of_benchmarks_md_in_place(tmp_path):
    original = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    out = tmp_path / "BENCHMARKS.md"
    out.write_text(original, encoding="utf-8")
    for section in SECTIONS:
        assert original.count(section.begin) == 1 and original.count(section.end) == 1, section
        body = original[original.index(section.begin) + len(section.begin) + 1: original.index(section.end) - 1]
        assert section.render(body.split("\n")) in original
        section.write(out, section.render(body.split("\n")))
    assert out.read_text(encoding="utf-8") == original  # same text back: markers and layout are compatible

    bench_ray.SECTION.write(out, bench_ray.SECTION.render(["## Distributed indexing", "", "new numbers"]))
    text = out.read_text(encoding="utf-8")
    ray = text[text.index(bench_ray.SECTION.begin): text.index(bench_ray.SECTION.end) + len(bench_ray.SECTION.end)]
    assert ray == "<!-- bench-ray:begin -->\n## Distributed indexing\n\nnew numbers\n<!-- bench-ray:end -->"
    before, after = original.split(bench_ray.SECTION.begin)[0], original.split(bench_ray.SECTION.end)[1]
    assert text == before + ray + after  # every other section untouched, the order kept


def test_a_missing_section_is_appended_and_a_missing_file_gets_the_header(tmp_path):
    out = tmp_path / "new.md"
    first = Section("<!-- a:begin -->", "<!-- a:end -->")
    second = Section("<!-- b:begin -->", "<!-- b:end -->")
    first.publish(first.render(["## A", "one"]), out)
    assert out.read_text(encoding="utf-8") == HEADER + "\n<!-- a:begin -->\n## A\none\n<!-- a:end -->\n"
    second.write(out, second.render(["## B"]))
    first.write(out, first.render(["## A", "two"]))
    assert out.read_text(encoding="utf-8") == (HEADER + "\n<!-- a:begin -->\n## A\ntwo\n<!-- a:end -->\n\n"
                                               "<!-- b:begin -->\n## B\n<!-- b:end -->\n")
    image = first.add_image(first.render(["## A"]), "A plot", Path("docs/benchmarks/a.png"))
    assert image == "<!-- a:begin -->\n## A\n\n![A plot](docs/benchmarks/a.png)\n<!-- a:end -->"


def test_the_header_names_the_machine_and_the_command():
    line = machine()
    assert re.match(r"\d+ cores \(.+\), \d+ GiB RAM, ", line)
    assert f"Python {platform.python_version()}; " in line and "lancedb " in line
    assert command_line("benchmarks.bench_ray", ["--out", "BENCHMARKS.md"]) == \
        "python -m benchmarks.bench_ray --out BENCHMARKS.md"
    assert command_line("benchmarks.bench_qa", ["--db", "/tmp/my kb"]) == "python -m benchmarks.bench_qa --db '/tmp/my kb'"
    assert re.fullmatch(r"Measured \d{4}-\d\d-\d\d \d\d:\d\d UTC with `python -m x` on: .+", measured("python -m x"))


def test_the_router_section_keeps_its_format():
    result = {"n_test": 3, "n_train": 9, "level_accuracy": 2 / 3, "global_accuracy": 1.0,
              "confusion": {"naive": {"naive": 1, "graph": 0}, "graph": {"naive": 1, "graph": 1}}}
    text = bench_router.report(result, ["naive", "graph"], "python -m benchmarks.bench_router --out BENCHMARKS.md")
    assert text == (
        "<!-- bench-router:begin -->\n## Query routing accuracy\n\n"
        f"Machine: {machine()}\n\nCommand: `python -m benchmarks.bench_router --out BENCHMARKS.md`\n\n"
        "The shipped router (logistic regression on MiniLM + lexical cues) on the held-out split of "
        "`retrievers/route_queries.jsonl` (3 queries from topic groups not seen in training; 9 training queries): "
        "**level accuracy 0.667**, global/localized accuracy 1.000.\n\n"
        "| true \\ predicted | naive | graph |\n|---|---|---|\n| naive | 1 | 0 |\n| graph | 1 | 1 |\n"
        "<!-- bench-router:end -->"
    )
