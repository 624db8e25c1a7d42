# Two commands for a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_HOME := .heard-demo
DEMO_RESPONSES ?= 2000
DEMO_PORT ?= 8000
FRONTEND_DIR := src/heard/web/frontend
FRONTEND := src/heard/web/build/heard/govuk/govuk-frontend.min.css

.PHONY: setup frontend demo test lint docs-images clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) $(FRONTEND)

# GOV.UK Frontend from npm, copied into the web app's static build folder (not in git).
$(FRONTEND): $(FRONTEND_DIR)/package.json $(FRONTEND_DIR)/package-lock.json $(FRONTEND_DIR)/build.mjs
	cd $(FRONTEND_DIR) && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

frontend: $(FRONTEND)

demo: $(STAMP) $(FRONTEND)
	rm -rf $(DEMO_HOME)
	HEARD_HOME=$(DEMO_HOME) $(BIN)/heard sample-data $(DEMO_HOME)/data --responses $(DEMO_RESPONSES) --seed 7
	HEARD_HOME=$(DEMO_HOME) $(BIN)/heard import $(DEMO_HOME)/data --consultation demo
	HEARD_HOME=$(DEMO_HOME) $(BIN)/heard status demo
	HEARD_HOME=$(DEMO_HOME) $(BIN)/heard analyse demo
	@PASSWORD=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(9))'); \
	HEARD_HOME=$(DEMO_HOME) $(BIN)/heard user add demo@example.org --role admin --password="$$PASSWORD" >/dev/null; \
	echo; echo "Open http://localhost:$(DEMO_PORT)/ and sign in as demo@example.org with password $$PASSWORD"; echo; \
	HEARD_HOME=$(DEMO_HOME) $(BIN)/heard serve --port $(DEMO_PORT)

test: $(STAMP) $(FRONTEND)
	$(BIN)/python -m pytest

# ruff, then the layering contracts of pyproject.toml's [tool.importlinter]
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports --no-cache

# Refresh the screenshots in docs/ on purpose: the browser tests write them nowhere else.
docs-images: $(STAMP) $(FRONTEND)
	HEARD_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/e2e -q

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache src/heard/web/build $(FRONTEND_DIR)/node_modules
