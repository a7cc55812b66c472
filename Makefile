# wavault - the two commands (README): `make demo` and `make test`.
# Everything installs itself: Python tools into ./.venv (scripts/bootstrap.sh), crates via cargo.

CARGO ?= cargo
.DEFAULT_GOAL := help

.PHONY: help bootstrap build demo serve test lint bench bench-media bench-retention bench-erase infra-lint

help:
	@echo "make demo   - run the ingest pipeline locally (moto + the real webhook binary) and show what happened"
	@echo "make serve  - like demo, then stay up and print the webhook URL for manual curl"
	@echo "make test   - the whole test suite (unit, integration against moto, template lint)"
	@echo "make lint   - cargo fmt --check and clippy -D warnings"
	@echo "make bench  - the ingest benchmark (figures in README)"
	@echo "make bench-media - peak RSS / CPU of the release media fetcher on 1, 16, 100 MiB files"
	@echo "make bench-retention - retention sweep cost on 10,000 and 100,000 items, 1,000 of them expired"
	@echo "make bench-erase - erasure time for a contact with 1,000 messages and 100 media files"

bootstrap:
	@bash scripts/bootstrap.sh

# Integration tests and the demo run the real function binaries: build them first.
build:
	$(CARGO) build --workspace --bins

demo: bootstrap build
	$(CARGO) run -q -p wavault-tests --bin demo

serve: bootstrap build
	$(CARGO) run -q -p wavault-tests --bin demo -- --serve

test: bootstrap build
	$(CARGO) test --workspace
	@bash scripts/lint-infra.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench:
	$(CARGO) bench -p wavault-shared --bench ingest

bench-media: bootstrap
	$(CARGO) build --release -p media-fetcher -p webhook
	WAVAULT_BIN_PROFILE=release $(CARGO) run --release -q -p wavault-tests --bin media-bench

bench-retention: bootstrap
	$(CARGO) run --release -q -p wavault-tests --bin retention-bench

bench-erase: bootstrap
	$(CARGO) run --release -q -p wavault-tests --bin erase-bench

infra-lint: bootstrap
	@bash scripts/lint-infra.sh
