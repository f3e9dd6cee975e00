# Two commands for a fresh machine (see README):
#   make book   - install into .venv, build the Jupyter Book (executing every notebook)
#   make test   - install into .venv, lint, check notebook pairs and the Pages workflow, run
#                 unit + notebook tests, -W build, then check the pages in headless Chromium
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# A pre-loaded data folder beside the repository (classroom cache, CI) is searched first.
PRELOADED_DEFAULT := $(abspath ../shared/data)
export SHAP_COURSE_PRELOADED ?= $(if $(wildcard $(PRELOADED_DEFAULT)),$(PRELOADED_DEFAULT),)

.PHONY: install book test check lint pairs notebooks unit unit-coverage book-check clean \
	student nbval-check output-check benchmark \
	browser-deps browser-check workflow-check

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# Chapters whose code is unchanged since the last build are not executed again (the cache in
# _build/.jupyter_cache); after changing helpers/, run `make clean` first.
# A self-check that fails on a worked solution fails the build (helpers.report.self_check).
book: export SHAP_COURSE_STRICT_CHECKS = 1
book: $(STAMP)
	$(BIN)/jupyter-book build . --all
	@echo "Book built: $(CURDIR)/_build/html/index.html"

# Everything `make test` runs is offline and in the fast profile.
test: export SHAP_COURSE_OFFLINE = 1
test: export SHAP_COURSE_PROFILE = fast
test: export SHAP_COURSE_STRICT_CHECKS = 1
test: $(STAMP) lint pairs workflow-check browser-deps unit-coverage book-check output-check \
	nbval-check browser-check

# For contributors, in a couple of minutes: lint, the notebook-pair check and the unit tests
# (no chapter is executed). `make test` remains the full check.
check: export SHAP_COURSE_OFFLINE = 1
check: $(STAMP) lint pairs unit

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check helpers tests

pairs: $(STAMP)
	$(BIN)/python tools/pairing.py --check notebooks

# The student edition: solutions replaced by "# Your code here" (see book/instructors.md).
student: $(STAMP)
	$(BIN)/python tools/student.py notebooks student

# The Pages workflow cannot run here; validate it against GitHub's workflow schema.
workflow-check: $(STAMP)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# A Chromium for the browser check, no root needed: a system one on PATH (chromium,
# chromium-browser, google-chrome), else Playwright's own (downloaded into its cache). Only as
# root on CI (CI=true), when neither can be had, Debian's package (needs the Debian mirror).
browser-deps: $(STAMP)
	@if $(BIN)/python tools/browser_check.py --which-browser 2>/dev/null; then :; \
	elif $(BIN)/playwright install chromium; then :; \
	elif [ "$${CI:-}" = true ] && [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else echo "no Chromium for the browser check: run $(BIN)/playwright install chromium" >&2; \
		exit 1; fi

# Open every chapter and book/ page in headless Chromium, network off: images, launch buttons,
# math rendered by the local MathJax (after book-check).
browser-check: $(STAMP) browser-deps
	$(BIN)/python tools/browser_check.py _build/html _build/screenshots --notebooks notebooks

notebooks: $(STAMP)
	$(BIN)/python tools/pairing.py --write notebooks

# The unit tests with coverage. The chapters are executed once, by book-check: the -W build
# runs every cell (hidden asserts included) and fails on the first error
# (nb_execution_raise_on_error). One chapter alone: see CONTRIBUTING.md.
unit-coverage: $(STAMP)
	$(BIN)/python -m pytest tests --cov=helpers --cov-report=term-missing --cov-fail-under=90 \
		-p no:cacheprovider

# The execution cache is cleared first: `make test` executes every chapter.
book-check: $(STAMP)
	rm -rf _build/.jupyter_cache
	$(BIN)/jupyter-book build . --all -W --keep-going

# The executed chapters as the book shows them: no figure twice in a cell, no printed line
# wider than the page (79 characters). After book-check.
output-check: $(STAMP)
	$(BIN)/python tools/output_check.py _build/jupyter_execute/notebooks/*.ipynb

# Wall time and peak memory of every chapter, one after the other, in a fresh kernel each:
# the instructors' table. Run it with nothing else on the machine; PROFILE=full for readers.
PROFILE ?= fast
benchmark: $(STAMP)
	$(BIN)/python tools/benchmark.py --profile $(PROFILE) --output _build/benchmark-$(PROFILE).md

clean:
	rm -rf _build .pytest_cache .coverage student

# Every chapter a second time, by nbval, against the -W build's executed notebooks: each text
# output must be the same (images are not compared). tools/nbval_sanitize.cfg masks what
# honestly differs between two runs; tools/nbval_stderr.py leaves out stderr, which the book
# removes. One chapter: see CONTRIBUTING.md.
NBVAL := PYTHONPATH=tools $(BIN)/python -m pytest -p nbval_stderr -p no:cacheprovider --nbval \
	--nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg --nbval-cell-timeout 900 \
	-c /dev/null --rootdir . -rf
NBVAL_NOTEBOOKS ?= _build/jupyter_execute/notebooks/*.ipynb
nbval-check: $(STAMP)
	$(NBVAL) $(NBVAL_NOTEBOOKS)
