# Two commands do all set-up on a fresh machine with Python 3.11+:
#   make run   - the whole system on http://127.0.0.1:8000 (PORT to change)
#   make test  - the test suite
#   make bench - the benchmarks (PostgreSQL, RabbitMQ, wrk, ab: docs/benchmarks.md)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) manage.py runstack

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# BENCH_ARGS: e.g. --quick, --only time-to-page,fanout (python -m bench --help).
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) var
