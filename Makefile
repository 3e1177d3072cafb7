# vrag: `make demo` builds the sample video, indexes it, runs a query and measures it with `vrag eval`; `make test` runs the tests.
# Both set everything up first: system tools (ffmpeg, espeak-ng), a venv, CPU torch, vrag with its models.

VENV   ?= .venv
PY     := $(VENV)/bin/python
VRAG   := $(VENV)/bin/vrag
# The CPU build of torch; on machines with a GPU set TORCH_SPEC to the build you want.
TORCH_SPEC ?= torch==2.13.0
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)
export HF_HUB_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test lint test-slow test-all test-ui test-ray test-azure bench setup system clean

demo: setup
	$(PY) data/make_sample.py
	$(VRAG) index data/sample --db data/kb
	$(VRAG) status --db data/kb
	$(VRAG) search "what temperature is a light roast finished at" --db data/kb -k 3
	$(VRAG) ask "who was the first woman to pilot the Space Shuttle?" --db data/kb
	$(VRAG) eval data/sample_qa.jsonl --db data/kb -q
	@echo
	@echo "Next steps:"
	@echo "  source $(VENV)/bin/activate        # vrag on your PATH"
	@echo "  vrag ui --db data/kb             # the web UI on this knowledge base"
	@echo "  vrag index ~/videos              # index your own videos (into data/kb; --db DIR for another)"

test: setup lint
	$(PY) -m pytest -m "not slow and not scale and not ui and not ray and not azure" -q

# ruff (settings in pyproject.toml): part of `make test`, so CI lints too.
lint: setup
	$(PY) -m ruff check .

test-slow: setup
	$(PY) -m pytest -m "slow" -q

test-all: setup
	$(PY) -m pytest -q

# The real-browser UI test: Debian's chromium + chromedriver driven by selenium (no browser download).
test-ui: setup
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null)
	$(PY) -m pytest -m ui -q -s

# An az:// knowledge base on Azurite, Microsoft's Azure Storage emulator (npm; needs node).
test-azure: setup
	@command -v npm >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq npm >/dev/null)
	@test -x .cache/azurite/node_modules/.bin/azurite-blob || npm install -s --prefix .cache/azurite azurite@3
	$(PY) -m pytest -m azure -q

# Distributed indexing on a local Ray (2 CPUs): installs the ray extra first.
test-ray: setup
	$(PY) -m pip install -q -e '.[ray]'
	$(PY) -m pytest -m ray -q

# Where the benchmarks keep their knowledge bases (the 1M-segment one takes a while to build, so it is kept).
BENCH_DB ?= /tmp/vrag-bench
EVAL_DIR ?= ../shared/eval

bench: setup
	$(PY) -m benchmarks.bench --out BENCHMARKS.md --long 30 --eval $(EVAL_DIR)/media
	$(PY) -m benchmarks.bench_graph --segments 100000 --videos 200 --out BENCHMARKS.md
	$(PY) -m benchmarks.bench_router --out BENCHMARKS.md
	$(PY) -m benchmarks.bench_asr --out BENCHMARKS.md
	$(VRAG) index $(EVAL_DIR) --db $(BENCH_DB)/eval -q
	$(PY) -m benchmarks.bench_qa --db $(BENCH_DB)/eval --out BENCHMARKS.md
	$(PY) -m benchmarks.bench_cli --db $(BENCH_DB)/eval --out BENCHMARKS.md
	$(PY) -m benchmarks.bench_routing --db $(BENCH_DB)/eval --out BENCHMARKS.md
	$(PY) -m benchmarks.bench_library --db $(BENCH_DB)/eval --out BENCHMARKS.md
	$(PY) -m benchmarks.bench_entities --kb $(BENCH_DB)/eval --before benchmarks/data/entities_before.json --before benchmarks/data/entities_graph5.json --out BENCHMARKS.md
	$(PY) -m benchmarks.bench_query --sizes 10000,100000,1000000 --out BENCHMARKS.md --keep $(BENCH_DB)/query
	$(PY) -m benchmarks.bench_objectstore --out BENCHMARKS.md
	$(PY) -m pip install -q -e '.[ray]'
	$(PY) -m benchmarks.bench_ray --out BENCHMARKS.md

setup: system $(VENV)/.installed

system:
	@command -v ffmpeg >/dev/null && command -v espeak-ng >/dev/null || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq ffmpeg espeak-ng >/dev/null)

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

clean:
	rm -rf data/kb data/sample .pytest_cache
