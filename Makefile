# hub — every target installs what it needs first.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-deps broker run demo up down status test test-unit lint bench chaos clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: system-deps $(STAMP) broker

# Java, Maven and PostgreSQL come from Debian's packages when they are missing.
system-deps:
	@bash .ci/system-deps

# The Kafka broker jars, resolved once by mvn into dev/target/libs.
broker: system-deps
	@ls dev/target/libs/kafka_2.13-*.jar >/dev/null 2>&1 || mvn -q -B -f dev/pom.xml package

run: install
	$(BIN)/hub dev up
	$(BIN)/hub demo

up: install
	$(BIN)/hub dev up

down:
	$(BIN)/hub dev down

status:
	$(BIN)/hub dev status

test: install
	$(BIN)/hub schemas check
	$(BIN)/pytest -q

test-unit: $(STAMP)
	$(BIN)/pytest -q -m unit

lint: $(STAMP)
	$(BIN)/ruff check hub consumers projections tests bench chaos
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench $(if $(QUICK),--quick,)

# The fault suite: `make chaos` (short, ~2 min), `make chaos LONG=1` (~10 min), SEED=n repeats a run.
chaos: install
	$(BIN)/python -m chaos $(if $(LONG),--long,) $(if $(SEED),--seed $(SEED),)

clean:
	-$(BIN)/hub dev down
	rm -rf .hub dev/target
