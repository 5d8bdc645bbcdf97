#!/usr/bin/env bash
# Installs what building, running and testing triage needs on a fresh machine of this kind
# (Debian 12, Rust via rustup). Idempotent: a second run checks and finishes in seconds.
# Offline-capable apart from the package registries (crates.io, PyPI, Debian, npm).
#
#   scripts/setup.sh          everything the demo and the test suite need
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

command -v cargo >/dev/null || { echo "setup: cargo is missing; install Rust with rustup first" >&2; exit 1; }

if ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest (one-off, a few minutes)…"
  cargo install --locked cargo-nextest
fi

# PostgreSQL is optional for running triage (SQLite is the default) but the test suite
# exercises it. This machine kind starts a server; on others, say how to point at one.
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "starting the local PostgreSQL cluster…"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
if ! (command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432); then
  say "no PostgreSQL at 127.0.0.1:5432: the PostgreSQL half of the tests will be skipped (set TRIAGE_TEST_PG to use another server)"
fi

say "ready"
