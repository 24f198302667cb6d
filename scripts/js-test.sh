#!/usr/bin/env bash
# Tests of the JavaScript client package (clients/js) against the real
# binary, with Node's test runner:
#   1. installs the package's pinned dev dependencies (npm ci: typescript,
#      and ws for Node 20, which has no global WebSocket);
#   2. builds target/debug/chorus unless CHORUS_BIN names a binary;
#   3. runs clients/js/test/*.test.mjs on SQLite (one server process on a
#      fresh file), then on PostgreSQL + Redis (two server processes on a
#      fresh database chorus_t_<unix seconds>_<random>, Redis pub/sub).
# PostgreSQL and Redis must be reachable (`. scripts/services.sh`): the
# PostgreSQL run fails, never skips, when they are not.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing the client package's dev dependencies (typescript, ws)"
(cd clients/js && npm ci --no-audit --no-fund)

if [[ -z "${CHORUS_BIN:-}" ]]; then
  echo "== building chorus"
  cargo build --locked --bin chorus
  export CHORUS_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/chorus"
fi

pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL at 127.0.0.1:5432 is unreachable (source scripts/services.sh)" >&2; exit 1; }
redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG || { echo "Redis at 127.0.0.1:6379 is unreachable (source scripts/services.sh)" >&2; exit 1; }

cd clients/js
for engine in sqlite postgres; do
  echo "== client package tests on $engine"
  CHORUS_JS_ENGINE=$engine node --test --test-concurrency=2 test/
done
