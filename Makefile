# tradeapp: `make run` sets everything up and runs the platform; `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
LAUNCH := $(PY) -m tradeapp.launcher
PYTEST_ARGS ?=
# xdist workers for `make test`: 2 (each gets its own test database, Redis database and channel prefix);
# 0 (one process) when Celery talks to a broker of its own (RabbitMQ), whose queues the workers would share.
TEST_WORKERS ?= $(if $(CELERY_BROKER_URL),0,2)
BENCH_ARGS ?=

.PHONY: run setup test test-fast test-external lint format migrations bench clean-var help

help:
	@echo "make run            set up (venv, pip, npm), start embedded PostgreSQL+Redis, web, worker, beat"
	@echo "make test           the whole suite on 2 xdist workers, about 4.5 min on 2 vCPUs (embedded services unless DATABASE_URL/REDIS_URL are set)"
	@echo "make test-fast      the unit tests (no database) on 2 xdist workers: about 30 s on 2 vCPUs"
	@echo "make test-external  the suite against DATABASE_URL/REDIS_URL/CELERY_BROKER_URL from the env"
	@echo "make lint           ruff + mypy + import contracts (lint-imports) + makemigrations --check"
	@echo "make bench          market-data benchmarks (backfill, range reads, feed latency): docs/benchmarks.md"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.installed node_modules/.installed

run: setup
	$(LAUNCH) run

test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The quick lane while working: the tests that need no database and are not slow, browser or services
# (conftest.py marks them `unit`), on two xdist workers, each with its own Redis database
# (tradeapp/testing/embedded_services.py). `make test` stays the whole suite.
test-fast: setup
	$(PY) -m pytest -m unit -n 2 $(PYTEST_ARGS)

# The whole suite again, against externally provided services (CI: the machine's PostgreSQL, Redis
# and RabbitMQ). Tests marked `services` are the ones that exercise the servers beyond plain SQL.
test-external: setup
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || (echo "set DATABASE_URL and REDIS_URL" && exit 2)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(LAUNCH) exec -- $(PY) manage.py makemigrations --check --dry-run

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations: setup
	$(LAUNCH) exec -- $(PY) manage.py makemigrations

# Market-data benchmarks in a throw-away database (docs/benchmarks.md). BENCH_ARGS="--only feed" etc.
bench: setup
	$(LAUNCH) exec -- $(PY) -m bench $(BENCH_ARGS)

clean-var:
	rm -rf var/test-services
