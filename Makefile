# Two commands do everything on a fresh clone (see README):
#   make bundle   set up, then generate output/prod/ from clusters/prod.yaml
#   make test     set up, then run the whole test suite
# While working: make test-fast (about a minute on 2 cores) leaves out the tests marked slow.
SHELL := /bin/bash
SHARED ?= $(abspath ../shared)
# offline CRD schemas when ../shared is beside the repo; otherwise gen pulls them (sha256-locked)
export GEN_SCHEMA_MIRROR ?= $(wildcard $(SHARED)/upstream)

.PHONY: setup bundle check test test-fast lint bench bench-quick bench-full soak
setup:
	@scripts/setup.sh

# fills gen's schema cache first (from ../shared when it is there), so hand-typed gen commands and the
# pre-commit hooks work offline afterwards
bundle: setup
	.venv/bin/gen schemas pull
	.venv/bin/gen bundle --cluster prod

check: setup
	.venv/bin/gen check

test: setup
	.venv/bin/ruff check generator tests bench maint
	.venv/bin/mypy
	.venv/bin/lint-imports --no-cache
	.venv/bin/python -m pytest -n auto --durations=10; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# unit tests and the CLI tests that run gen in-process (tests.helpers.run_gen); without the tests marked slow: real
# gen, pytest or pre-commit processes (SIGKILL, locale, hooks), tests/e2e/ (the chart-equivalence matrix among them),
# the hypothesis runs with real kustomize or fsync. No ruff or mypy: make test runs everything, as CI does.
test-fast: setup
	.venv/bin/python -m pytest -n auto -m "not slow" --durations=5; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-fast: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# fleets of 10 to 500 clusters (BENCH_SIZES=10,100 and BENCH_RUNS=N to change), the floors, and gen lint on 10,000
# objects (bench/lint_bench.py); writes bench/results/ (see docs/benchmarks.md)
bench: setup
	.venv/bin/python bench/run.py

bench-quick: setup
	.venv/bin/python bench/run.py --quick --out bench/results/quick

bench-full: setup
	.venv/bin/python bench/run.py --full

soak: setup
	.venv/bin/python bench/soak.py
