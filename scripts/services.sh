#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis the tests use are running on
# 127.0.0.1 (starting them if they are installed but stopped), and exports
# their URLs. Source it: `. scripts/services.sh`.
set -u

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! redis_up && command -v redis-server >/dev/null 2>&1; then
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi

export CHORUS_TEST_POSTGRES="${CHORUS_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
export CHORUS_TEST_REDIS="${CHORUS_TEST_REDIS:-redis://127.0.0.1:6379}"
pg_up && echo "services: PostgreSQL up" || echo "services: PostgreSQL NOT reachable"
redis_up && echo "services: Redis up" || echo "services: Redis NOT reachable"
