# shashin — the commands that matter. `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DB ?= .demo/library
# torch first, pinned: this CPU build is what the project is tested with (an unpinned torch pulls
# a multi-GB CUDA build). On a GPU machine install your CUDA torch first and skip this step.
TORCH ?= torch==2.13.0
# Where the CPU build of torch lives: used when it answers (PyPI's Linux torch is the CUDA build);
# a machine that only reaches PyPI or a local wheel folder installs from those as configured.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
export CPU_INDEX_IF_REACHABLE = import urllib.request; urllib.request.urlopen("$(TORCH_INDEX)/torch/", timeout=5); print("--extra-index-url $(TORCH_INDEX)")
# The demo indexes the bundled samples, plus the shared COCO development photos when present.
DEMO_PHOTOS ?= samples $(wildcard ../shared/data/coco-cc76/images)

COCO   ?= ../shared/data/coco-cc76
EVAL_DB ?= .eval/coco-library

.PHONY: help install demo test test-fast check format bench eval clean

help:
	@echo "make install  create $(VENV) and install shashin with its test tools (idempotent)"
	@echo "make demo     install if needed, index the sample photos into $(DEMO_DB), search them"
	@echo "make test     install if needed and run the whole test suite (browser, Ray, S3, kill -9 included)"
	@echo "make test-fast  the quick tier: unit and small integration tests, two processes (under 90 s)"
	@echo "make check    lint (ruff), format check, types (mypy) and the import floors (import-linter)"
	@echo "make format   rewrite the code in the project's format (ruff)"
	@echo "make bench    install if needed and run the indexing/query benchmark"
	@echo "make eval     evaluate channels and fusion on $(COCO) (known captions); report in .eval/report"

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing shashin with its image models' runtime and test tools into $(VENV) (the first time: minutes; torch is most of it)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install $$($(BIN)/python -c "$$CPU_INDEX_IF_REACHABLE" 2>/dev/null) "$(TORCH)"
	$(BIN)/python -m pip install -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/shashin index $(DEMO_PHOTOS) --db $(DEMO_DB)
	$(BIN)/shashin search "NO LITTER" --db $(DEMO_DB) --limit 5
	$(BIN)/shashin search "ポイ捨て" --db $(DEMO_DB) --json
	$(if $(wildcard ../shared/data/coco-cc76/images),$(BIN)/shashin search "犬" --db $(DEMO_DB) --limit 3)
	$(if $(wildcard ../shared/data/coco-cc76/images),$(BIN)/shashin similar ../shared/data/coco-cc76/images/000000160012.jpg --db $(DEMO_DB) --limit 3)
	$(BIN)/shashin status --db $(DEMO_DB)

# Bytecode is cached (some environments set PYTHONDONTWRITEBYTECODE): every test process and every
# `shashin` subprocess a test starts would otherwise compile the code and rewrite the tests again.
test: install
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest

# No browser, Ray, S3, kill -9 or end-to-end subprocess tests (tests/conftest.py assigns the tiers);
# two processes, each test file on one of them (its photo sets are indexed once).
test-fast: install
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -m "not slow and not browser and not scale and not kill" -n 2 --dist loadfile -p no:cacheprovider

check: install
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix src tests bench tools
	$(BIN)/ruff format src tests bench tools

bench: install
	$(BIN)/python bench/bench_index.py

# Known-caption evaluation: a scratch library of the COCO photos, each photo's first caption
# imported, its other captions asked; report with plots and tuned-settings.toml in .eval/report.
eval: install
	rm -rf $(EVAL_DB)
	$(BIN)/shashin index $(COCO)/images --db $(EVAL_DB) --channels ocr
	$(BIN)/shashin eval --known-captions $(COCO)/captions.jsonl --db $(EVAL_DB) --report .eval/report --tune

clean:
	rm -rf .demo .bench .eval .pytest_cache
