# Two commands do all set-up on a fresh machine:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LEAFLET := static/vendor/leaflet/leaflet.js
PORT ?= 8501

.PHONY: run serve test lint bench bench-all demo assets browser clean

# Create .venv if missing and install (again) whenever the requirements change.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .   # the `gapmap` command
	touch $(STAMP)

# Leaflet ships inside the package (gapmap/vendor/leaflet, BSD-2; its README says where from),
# so that HTML exports and an installed gapmap draw maps with no internet. The app serves it
# from static/ (Streamlit static serving): copied there, not committed twice.
assets: $(LEAFLET)
$(LEAFLET): $(wildcard gapmap/vendor/leaflet/* gapmap/vendor/leaflet/images/*)
	rm -rf static/vendor/leaflet && mkdir -p static/vendor/leaflet
	cp -r gapmap/vendor/leaflet/leaflet.js gapmap/vendor/leaflet/leaflet.css gapmap/vendor/leaflet/images gapmap/vendor/leaflet/LICENSE static/vendor/leaflet/

# Debian's chromium for the end-to-end test. Installed when we can (root, as on CI);
# otherwise the browser test skips locally and says why.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; } || echo "note: chromium is not installed; the browser test will skip (apt-get install chromium)"

# This computer only. To serve a meeting room, see `serve` below.
run: $(STAMP) assets
	$(BIN)/python app.py --server.port $(PORT) --server.address 127.0.0.1

# Serving to a network is explicit, `make serve HOST=0.0.0.0` (or one of this machine's
# addresses), and then needs sign-in: add users first with
# `python -m gapmap users add NAME --role analyst` (the app shows nothing without them).
# HOST must come from the command line, not from a HOST variable a shell may export.
serve: $(STAMP) assets
	@test "$(origin HOST)" = "command line" || { echo "usage: make serve HOST=0.0.0.0 (sign-in is then required; see README.md, 'Serving to a network')"; exit 2; }
	$(BIN)/python app.py --server.port $(PORT) --server.address $(HOST)

test: $(STAMP) assets browser lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/python -m gapmap demo

# One table: each figure against its anchor measured in the same run, with the load average.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_floor.py

# Every benchmark script, each with its own report (the app's need chromium).
bench-all: $(STAMP) assets browser
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) static/vendor .pytest_cache .ruff_cache .hypothesis
