# One command for each job. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= ../shared/data/maven-crm

.PHONY: demo test lint fmt bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: install, then check, test and assign on the bundled example policy; replay and review the Maven CRM demo data
demo: $(STAMP)
	$(BIN)/policyd check policies/inbound.policy
	$(BIN)/policyd test policies/inbound.policy
	$(BIN)/policyd assign policies/inbound.policy --lead policies/leads/globex.json --why-not alice
	$(BIN)/policyd assign policies/inbound.policy --lead policies/leads/initech.json
	$(BIN)/policyd check policies/maven-crm.policy
	$(BIN)/policyd test policies/maven-crm.policy
	$(BIN)/policyd replay policies/maven-crm.policy --leads $(DATA)/sales_pipeline.csv --map policies/maven-crm.map.toml --hold 90 --rejects out/rejects.csv
	$(BIN)/policyd review policies/maven-crm.policy policies/maven-crm-v2.policy --leads $(DATA)/sales_pipeline.csv --map policies/maven-crm.map.toml --hold 90 --sample 1 --html out/review.html
	$(BIN)/policyd check policies/maven/door.policy policies/maven/central.policy policies/maven/east.policy policies/maven/west.policy
	$(BIN)/policyd test policies/maven/door.policy
	$(BIN)/policyd replay --door policies/maven/door.policy policies/maven/central.policy policies/maven/east.policy policies/maven/west.policy --leads $(DATA)/sales_pipeline.csv --map policies/maven/maven.map.toml --hold 90 --html out/org.html

## test: install, lint, then the whole test suite
test: $(STAMP)
	$(BIN)/ruff check policyd tests benchmarks
	$(BIN)/policyd --help > /dev/null
	scripts/ensure-chromium
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check policyd tests benchmarks
	$(BIN)/ruff format --check policyd tests benchmarks

## bench: the benchmarks (on demand; figures go in the README)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_evaluator.py
	$(BIN)/python benchmarks/bench_replay.py
	$(BIN)/python benchmarks/bench_daemon.py
	$(BIN)/python benchmarks/bench_intake.py

clean:
	rm -rf $(VENV) dist build *.egg-info .pytest_cache .ruff_cache
