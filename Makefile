# Manifattura — `make demo` serves the platform with Milan demo data; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
MANAGE := $(VENV)/bin/manifattura
STAMP  := $(VENV)/.installed

.PHONY: help setup venv messages migrate demo serve test test-fast bench makemessages clean lint

help:
	@echo "make demo   - set up, load Milan demo data, serve on http://127.0.0.1:$(PORT)"
	@echo "make test   - set up and run the whole test suite (DATABASE_URL selects the database)"
	@echo "make bench  - run the benchmarks, write bench/RESULTS.md and bench/results.json"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv setup: $(STAMP) messages

# Compiles the committed .po files (with polib: no gettext tools needed).
messages: $(STAMP)
	@$(PY) scripts/compile_messages.py

makemessages: $(STAMP)
	cd manifattura && ../$(MANAGE) makemessages -l it -l en --no-obsolete --ignore '*/vendor/*'

migrate: setup
	@mkdir -p var
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) load-demo
	@echo "Serving on http://127.0.0.1:$(PORT)  (staff: staff@example.org / demo-staff-2026)"
	DEBUG=1 $(MANAGE) runserver 127.0.0.1:$(PORT)

# Two workers: CI machines have two cores (pytest-xdist gives each worker its own test database).
PYTEST_ARGS ?= -n 2

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(PY) bench/run.py

lint: setup
	$(VENV)/bin/ruff check manifattura tests || true

clean:
	rm -rf $(VENV) var .pytest_cache
