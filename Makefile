# Two commands set everything up on a fresh machine:
#   make run   - creates .venv (Python 3.11), installs pinned requirements, starts the dashboard
#   make test  - creates/updates .venv, installs dev requirements, runs the whole suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test lint bench e2e-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.req-stamp: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.dev-stamp: requirements-dev.txt $(VENV)/.req-stamp
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.req-stamp
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

# Debian's chromium for the real-browser test; installed only when missing (needs root).
e2e-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.dev-stamp e2e-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(VENV)/.dev-stamp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.dev-stamp
	$(BIN)/pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
