# The two commands of the README. Both set up what they need first (scripts/setup.sh).
.PHONY: setup demo test bench lint screenshots

setup:
	@scripts/setup.sh

# Load the shipped demo data into ./triage-data (SQLite + local index) and serve it on
# http://127.0.0.1:8080.
demo:
	@scripts/setup.sh --demo
	cargo build --release -p triage
	./target/release/triage demo

# Every test: unit tests and end-to-end tests (real binary, SQLite and PostgreSQL). The
# release profile, like the demo: after `make demo` only the test programs are compiled.
test: setup lint
	cargo build --release -p triage
	cargo nextest run --workspace --release --no-fail-fast

# The benchmarks recorded in docs/benchmarks.md.
bench: setup
	cargo build --release -p triage
	./target/release/triage bench ingest --json
	./target/release/triage bench search --json
	./target/release/triage bench search --mode hybrid --json
	./target/release/triage bench relevance --json
	./target/release/triage bench redact --json

# Refresh docs/screenshots from the browser test (run on the demo data).
screenshots: setup
	cargo build --release -p triage
	TRIAGE_SCREENSHOTS=$(CURDIR)/docs/screenshots cargo nextest run --workspace --release -E 'binary(web_ui)'

# --release: clippy then reuses the release build's build scripts and proc macros (the C and
# C++ of SQLite, zstd and libtorch's shim) instead of compiling them a third time.
lint:
	cargo fmt --all -- --check
	cargo clippy --release --workspace --all-targets -- -D warnings
