#!/usr/bin/env bash
# The whole test suite: unit tests, the integration suite against the real
# binary (SQLite files; PostgreSQL and Redis on this machine), and doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh
cargo build --locked --bins
cargo test --locked --all-targets -- --test-threads "${CHORUS_TEST_THREADS:-4}"
