# Two commands for a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_HOME := .heard-demo
DEMO_RESPONSES ?= 2000

.PHONY: setup demo test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_HOME)
	HEARD_HOME=$(DEMO_HOME) $(BIN)/heard sample-data $(DEMO_HOME)/data --responses $(DEMO_RESPONSES) --seed 7
	HEARD_HOME=$(DEMO_HOME) $(BIN)/heard import $(DEMO_HOME)/data --consultation demo
	HEARD_HOME=$(DEMO_HOME) $(BIN)/heard status demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache
