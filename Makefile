# siyu: the two commands are `make demo` and `make test` (see README.md).
#
# Python tools live in a virtual environment at .venv (created on first use from
# the pinned bindings-python/requirements-dev.txt). Stamp files under .venv make a
# second run skip what has not changed.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV        := $(CURDIR)/.venv
PY          := $(VENV)/bin/python
PIP_STAMP   := $(VENV)/.stamp-requirements
NATIVE_STAMP:= $(VENV)/.stamp-siyu-native
BASE_PYTHON ?= $(shell command -v python3.11 || command -v python3)
# Jobs for cargo/maturin; CI machines have 2 cores.
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
# Every Rust source the Python extension is built from.
RUST_SRCS   := Cargo.toml Cargo.lock $(shell find core/src bindings-python/src -name '*.rs') \
               core/Cargo.toml bindings-python/Cargo.toml bindings-python/pyproject.toml

export PYO3_PYTHON := $(PY)
export CARGO_TERM_COLOR ?= never

.PHONY: help demo test lint fmt-check clippy rust-test python python-test node-test mobile-test mobile-size bench clean

help:
	@echo "make demo   - build and run the demo job on the sample population"
	@echo "make test   - format check, clippy, Rust tests (+conformance), Python, Node and mobile suites"
	@echo "make bench  - criterion benchmarks and the Python peer comparison"
	@echo "make mobile-size - stripped size of the mobile library (budget 3 MB)"
	@echo "make python - build the Python extension into .venv"
	@echo "make lint   - fmt check, clippy, mypy and stubtest"
	@echo "make clean  - remove build output and .venv"

demo:
	cargo run --release -p siyu-core --example demo

test: lint rust-test python-test node-test mobile-test
	@echo "make test: all suites passed"

lint: fmt-check clippy python
	$(PY) -m mypy.stubtest siyu._native
	cd bindings-python/python && $(PY) -m mypy siyu

fmt-check:
	cargo fmt --all -- --check

clippy: $(PIP_STAMP)
	cargo clippy -j $(JOBS) --workspace --all-targets -- -D warnings

# Default members (core, benches): unit, doc and conformance tests.
rust-test:
	cargo test -j $(JOBS)

$(PIP_STAMP): bindings-python/requirements-dev.txt
	test -x $(PY) || $(BASE_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r bindings-python/requirements-dev.txt
	touch $@

$(NATIVE_STAMP): $(PIP_STAMP) $(RUST_SRCS)
	cd bindings-python && VIRTUAL_ENV=$(VENV) PATH=$(VENV)/bin:$$PATH \
		maturin develop --release --quiet -j $(JOBS)
	touch $@

python: $(NATIVE_STAMP)

python-test: python
	cd bindings-python && $(PY) -m pytest -q -s tests

# The Node and mobile bindings own their test scripts; a present script must pass.
node-test:
	@if [ -f bindings-node/scripts/test.sh ]; then bash bindings-node/scripts/test.sh; \
	 else echo "node: bindings-node/scripts/test.sh not present yet"; fi

mobile-test:
	@if [ -f bindings-mobile/scripts/test.sh ]; then bash bindings-mobile/scripts/test.sh; \
	 else echo "mobile: bindings-mobile/scripts/test.sh not present yet"; fi

# Stripped size of the size-tuned mobile library (minutes: fat LTO; not in `test`).
mobile-size:
	bash bindings-mobile/scripts/size.sh

bench: python
	cargo bench -p siyu-benches
	@if [ -f benches/python/bench.py ]; then $(PY) benches/python/bench.py; \
	 else echo "bench: benches/python/bench.py not present yet"; fi

clean:
	cargo clean
	rm -rf $(VENV) bindings-python/python/siyu/_native*.so
