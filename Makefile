# The two commands of the README: `make run` (the whole system on this machine) and `make test` (every tier).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NOW ?= 2021-12-01T08:00
PYTEST := $(BIN)/pytest -ra
CHROMIUM := /usr/bin/chromium

.PHONY: run test test-unit test-integration test-e2e test-browser lint format services clean

$(BIN)/thidua: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

run: $(BIN)/thidua  ## the embedded system, its clock inside the 2021 submission window
	@echo "Starting thidua with the clock at $(NOW) (Asia/Ho_Chi_Minh), inside the 2021 submission window."
	@echo "Set NOW=... to start elsewhere, or run '$(BIN)/thidua run' for today's date."
	$(BIN)/thidua run --now $(NOW)

test: $(BIN)/thidua $(CHROMIUM)  ## unit, integration, end-to-end and browser tests, and the linters
	$(PYTEST) tests
	$(MAKE) --no-print-directory lint

test-unit: $(BIN)/thidua
	$(PYTEST) tests/unit

test-integration: $(BIN)/thidua
	$(PYTEST) tests/integration

test-e2e: $(BIN)/thidua
	$(PYTEST) tests/e2e

test-browser: $(BIN)/thidua $(CHROMIUM)  ## the portal in headless Chromium against thidua run; screenshots in tests/artifacts
	$(PYTEST) tests/browser

$(CHROMIUM):  ## Debian's chromium for the browser tests, installed only when it is missing
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q
	$(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

lint: $(BIN)/thidua
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(BIN)/thidua
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

services:  ## start RabbitMQ and PostgreSQL on this machine if they are down, and wait until both answer
	.ci/services

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
