#!/usr/bin/env bash
# The whole test suite:
#   1. unit tests, doc tests, and the integration suite (tests/it) on SQLite
#      files with in-process pub/sub; a tiny run of the SQLite floor example;
#   2. the integration suite again on PostgreSQL with Redis pub/sub (a fresh
#      database per test);
#      (tests that kill or stall Redis start a private redis-server of
#      their own, so they run with the rest);
#   3. the JavaScript client package's tests (clients/js) on both engines;
#   4. Schemathesis against the served OpenAPI document;
#   5. the web client in headless Chromium (desktop and phone) and Firefox.
# PostgreSQL and Redis are started first if they are stopped; tests that
# need them fail (never skip) when they are unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh

# Drop test databases left behind by runs that ended over three hours ago
# (named chorus_t_<unix seconds>_<random>; a concurrent run's are younger).
cutoff=$(( $(date +%s) - 3 * 3600 ))
psql -h 127.0.0.1 -U postgres -d test -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'chorus_t_%'" 2>/dev/null |
  while read -r db; do
    created="${db#chorus_t_}"; created="${created%%_*}"
    if [[ "$created" =~ ^[0-9]+$ && "$created" -gt 1000000000 && "$created" -gt "$cutoff" ]]; then continue; fi
    psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done

threads="${CHORUS_TEST_THREADS:-4}"
cargo build --locked --bins --tests --examples
# The scripts below use this binary rather than building the bin alone, which
# (without the dev-dependencies features) would rebuild every dependency.
export CHORUS_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/chorus"
echo "== unit tests and the integration suite on SQLite"
CHORUS_TEST_ENGINE=sqlite cargo test --locked --all-targets -- --test-threads "$threads"
echo "== the SQLite floor example, at a tiny scale"
target/debug/examples/sqlite_commit_rate --events 300 --batch 50 --history 300 >/dev/null
echo "== the integration suite on PostgreSQL + Redis"
CHORUS_TEST_ENGINE=postgres cargo test --locked --test it -- --test-threads "$threads"
echo "== the JavaScript client package against the real server (SQLite; PostgreSQL + Redis)"
bash scripts/js-test.sh
echo "== schemathesis against /openapi.json"
bash scripts/schemathesis.sh
echo "== browser tests"
bash scripts/browser-test.sh
