# sealaudit: two commands set up a fresh machine (see README):
#   make demo   install everything, create the embedded dataset if absent, run `dvc repro`
#   make test   install everything plus test tools, run the test suite
# Both are idempotent: a second run skips what is already installed or built.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.sealaudit-installed
APT_PACKAGES := postgresql poppler-utils libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
export PATH := $(CURDIR)/$(BIN):$(PATH)
# what provenance hashes as the source (pipeline/provenance.py SOURCE_PATHS)
SOURCE_PATHS := pipeline params.yaml dvc.yaml data.dvc challenge.dvc validation reports/templates benchmarks/results pyproject.toml requirements.lock
export MLFLOW_DISABLE_TELEMETRY := true
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: demo test test-fast install system-deps data repro lint bench check-fresh-run readme-check check-print lifecycle study

demo: install data repro

# Both write the JUnit XML that `sealaudit dossier --test-results` attaches to a dossier (its
# CSA assurance records and traceability matrix name the tests of this run).
test: install
	$(BIN)/python -m pytest -q --junitxml=reports/test-results/junit.xml

# The unit tests and quick integration tests only (no end-to-end stage runs).
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow" --junitxml=reports/test-results/junit.xml

# After `make demo` on a fresh clone: only dvc.lock changed, prepare..evaluate reproduced the
# committed lock entries byte for byte, no record says "dirty" (README: Reproducible records).
check-fresh-run: install
	$(BIN)/python .ci/check_fresh_run.py

# After `make demo`: the README's "After `make demo`" commands, exactly as written.
readme-check: install
	$(BIN)/python .ci/readme_check.py

# After `make demo`: the rendered dossiers pass the machine print checks (.ci/check_print.py);
# their pages land in reports/print-pages/dossiers/ as PNGs.
check-print: install
	$(BIN)/python .ci/check_print.py

# After `make demo`: the release path on the embedded data, shadow -> inspect -> monitor ->
# champion (refused while capability is not met) -> rollback -> audit verify (scripts/lifecycle.sh;
# outputs in lifecycle/; its promotions are real, signed into registry_audit.jsonl).
lifecycle: install
	bash scripts/lifecycle.sh

install: system-deps $(STAMP)

# Debian packages WeasyPrint and the PDF tests need; installed only when missing.
system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "sealaudit needs Python 3.11, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	@echo "installing Python packages (torch and MLflow are large: several minutes on a fresh machine)"
	$(BIN)/python -m pip install --progress-bar on -c requirements.lock -e '.[test]'
	touch $(STAMP)

# The embedded synthetic dataset and the capability challenge set are generated, byte-identical
# for the pinned versions, so a fresh clone recreates exactly what data.dvc and challenge.dvc
# record; an existing dataset is left untouched.
data: install
	@if [ ! -f data/manifest.csv ]; then $(BIN)/sealaudit data synth --out data; fi
	@if [ ! -f challenge/manifest.csv ]; then $(BIN)/sealaudit data challenge --out challenge; fi

repro: install data
	$(BIN)/dvc repro

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy pipeline

# Latency figures printed for a look (benchmarks/out/, ignored); the evidence's are `make study`'s.
bench: install
	$(BIN)/python benchmarks/inline_latency.py --out benchmarks/out/inline_latency.json

# A study whose JSON feeds the evidence, run on demand (benchmarks/dvc.yaml, frozen so that
# `dvc repro` never runs it): make study STUDY=resolution_study|detectability_ceiling|inline_latency
# Runs the stages it needs first; refreezes it even when it fails. Then commit its JSON, and
# `dvc repro` carries it into the evidence.
study: install data
	@test -n "$(STUDY)" || { echo "usage: make study STUDY=resolution_study|detectability_ceiling|inline_latency"; exit 2; }
	@git diff --quiet HEAD -- $(SOURCE_PATHS) || { echo "make study: commit the source changes first (the study records its commit; a dirty tree would mark it dirty)"; exit 2; }
	$(BIN)/dvc unfreeze benchmarks/dvc.yaml:$(STUDY)
	$(BIN)/dvc repro benchmarks/dvc.yaml:$(STUDY); rc=$$?; $(BIN)/dvc freeze benchmarks/dvc.yaml:$(STUDY); exit $$rc
