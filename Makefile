# wavault - the two commands (README): `make demo` and `make test`.
# Everything installs itself: Python tools into ./.venv (scripts/bootstrap.sh), crates via cargo.

CARGO ?= cargo
.DEFAULT_GOAL := help

.PHONY: help bootstrap bins build demo serve test iam-table lint bench bench-media bench-retention bench-erase bench-coldstart infra-lint fuzz-smoke fuzz-long

help:
	@echo "make demo   - run the ingest pipeline locally (moto + the real webhook binary) and show what happened"
	@echo "make serve  - like demo, then stay up: webhook URL, sample bodies, curl lines; one line per request"
	@echo "make test   - the whole test suite (unit, integration against moto, template lint)"
	@echo "make iam-table - rewrite the IAM permission table in docs/iam.md from the last make test's records"
	@echo "make lint   - cargo fmt --check and clippy -D warnings"
	@echo "make build  - sam build of the stack (arm64 via cargo-lambda + zig); first run needs the registries (rustup arm64 target, PyPI), offline after; FUNCTION=WebhookFunction for one"
	@echo "make fuzz-smoke - each cargo-fuzz target (tests/fuzz) for about 50 s, as CI runs them"
	@echo "make fuzz-long  - each fuzz target for 10 million executions (figures in docs/figures.md)"
	@echo "make bench  - the ingest benchmark (figures in docs/figures.md)"
	@echo "make bench-media - peak RSS / CPU of the release media fetcher on 1, 16, 100 MiB files"
	@echo "make bench-retention - retention sweep cost on 10,000 and 100,000 items, 1,000 of them expired"
	@echo "make bench-erase - erasure time for a contact with 1,000 messages and 100 media files"
	@echo "make bench-coldstart - process start to first Runtime API poll, each release function vs hello world"

bootstrap:
	@bash scripts/bootstrap.sh

# Integration tests and the demo run the real function binaries: build them first.
bins:
	$(CARGO) build --workspace --bins

# `sam build` of the deployable stack (arm64, cargo-lambda + zig from .venv-sam); FUNCTION=WebhookFunction for one.
build:
	@bash scripts/sam-build.sh $(FUNCTION)

demo: bootstrap bins
	$(CARGO) run -q -p wavault-tests --bin demo

serve: bootstrap bins
	$(CARGO) run -q -p wavault-tests --bin demo -- --serve

# Where the IAM gateway records every AWS call the functions and the tool make (tests/src/iam); the check after the
# suites reads them.
IAM_RECORDS := $(or $(CARGO_TARGET_DIR),target)/iam

test: bootstrap bins
	rm -rf $(IAM_RECORDS)
	$(CARGO) test --workspace
	$(CARGO) run -q -p wavault-tests --bin iam-check
	@bash scripts/lint-infra.sh

# Rewrites the IAM permission table in docs/iam.md from the records of the last `make test`.
iam-table:
	$(CARGO) run -q -p wavault-tests --bin iam-check -- --write

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The cargo-fuzz targets of tests/fuzz (signature, http_event, notification, plan) on the stable toolchain, in
# target-fuzz/ (scripts/fuzz.sh; cargo-fuzz installs itself into .tools/). FUZZ_TARGETS="plan" for one.
fuzz-smoke:
	@bash scripts/fuzz.sh smoke

fuzz-long:
	@bash scripts/fuzz.sh long

bench:
	$(CARGO) bench -p wavault-core --bench ingest

bench-media: bootstrap
	$(CARGO) build --release -p media-fetcher -p webhook
	WAVAULT_BIN_PROFILE=release $(CARGO) run --release -q -p wavault-tests --bin media-bench

bench-retention: bootstrap
	$(CARGO) run --release -q -p wavault-tests --bin retention-bench

bench-erase: bootstrap
	$(CARGO) run --release -q -p wavault-tests --bin erase-bench

bench-coldstart:
	$(CARGO) build --release -p webhook -p media-fetcher -p token-rotator -p ttl-expirer
	$(CARGO) build --release -p wavault-tests --bin echo-lambda
	WAVAULT_BIN_PROFILE=release $(CARGO) run --release -q -p wavault-tests --bin coldstart-bench

infra-lint: bootstrap
	@bash scripts/lint-infra.sh
