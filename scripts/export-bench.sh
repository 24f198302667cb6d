#!/usr/bin/env bash
# Export and listing at scale (BENCHMARKS.md, "Export and listing"), on
# SQLite (or PostgreSQL, below). Setup, not measured: a fresh database holding one numeric prompt
# of EVENTS events (default 1,000,000) over 2,000 sessions, and 10,000
# more prompts, written straight in SQL. Then, against `chorus serve`:
#  * the big prompt exported as CSV and as JSON lines with curl, twice
#    each: events/s (curl's total time) and the server's RssAnon growth
#    (peak sampled every 20 ms, minus the figure before the export);
#  * the whole listing (10,001 prompts, 500 a page) read 10 times over:
#    p50, p99 and max per page (curl's total time).
# With CHORUS_BENCH_POSTGRES set to a PostgreSQL URL, the same on a fresh
# database beside that one (created, filled with psql, dropped at the end).
# Needs sqlite3 (or psql), curl and jq. Linux only (/proc).
#
#   bash scripts/export-bench.sh [EVENTS]
#   CHORUS_BIN=target/debug/chorus bash scripts/export-bench.sh 100000
#   CHORUS_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/test bash scripts/export-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CHORUS_BIN:-target/release/chorus}
[[ -x $bin ]] || cargo build --release --locked --bin chorus
events=${1:-1000000}
dir=$(mktemp -d)
server= url= pg_admin=${CHORUS_BENCH_POSTGRES:-}
if [[ -n $pg_admin ]]; then
  name=chorus_bench_export_$$
  psql "$pg_admin" -qc "CREATE DATABASE $name" >/dev/null
  url=${pg_admin%/*}/$name
fi
trap '[[ -n $server ]] && kill $server 2>/dev/null; wait; rm -rf "$dir"
  [[ -n $url ]] && psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null' EXIT
db=$dir/bench.db

. scripts/bench-server.sh
admin() { curl -fsS -H "Authorization: bearer $CHORUS_ADMIN_TOKEN" "$@"; }

start
uid=$(admin -H 'Content-Type: application/json' "$base/api/1/interactive_prompts" -d \
  '{"prompt": {"style": "numeric", "text": "Bench", "min": 1, "max": 10, "step": 1}, "duration_seconds": 600}' |
  jq -r .uid)
stop
echo "filling $uid with $events events and 10,000 more prompts (setup)"
# n(i) for i in 1..$1, in each engine's words.
if [[ -n $url ]]; then
  numbers() { echo "n(i) AS (SELECT generate_series(1, $1))"; }
  event_uid="'ipe_' || lpad(i::text, 22, '0')"
  fill() { psql "$url" -q -v ON_ERROR_STOP=1; }
else
  numbers() { echo "RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)"; }
  event_uid="printf('ipe_%022d', i)"
  fill() { (echo 'PRAGMA journal_mode = WAL;' && cat) | sqlite3 "$db" >/dev/null; }
fi
fill <<SQL
BEGIN;
WITH $(numbers 2000)
INSERT INTO users(sub, given_name, created_at) SELECT 'bench-' || i, 'Bench ' || i, 0 FROM n;
INSERT INTO interactive_prompt_sessions(interactive_prompt_id, user_id, uid)
SELECT p.id, u.id, 'ips_bench' || u.id FROM interactive_prompts p, users u WHERE p.uid = '$uid';
WITH $(numbers "$events")
INSERT INTO interactive_prompt_events
  (uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
SELECT $event_uid, (SELECT MIN(id) FROM interactive_prompt_sessions) + i % 2000,
  CASE WHEN i % 3 = 0 THEN 'like' ELSE 'numeric_prompt_response' END,
  CASE WHEN i % 3 = 0 THEN '{}' ELSE '{"rating":' || (1 + i % 10) || '}' END,
  (i * 599.0) / $events, 1800000000 + i / 1000.0, p.id
FROM n, interactive_prompts p WHERE p.uid = '$uid';
WITH $(numbers 10000)
INSERT INTO interactive_prompts(uid, prompt, duration_seconds, created_at)
SELECT 'ip_bench' || i, p.prompt, 60, 1800000000 + i FROM n, interactive_prompts p WHERE p.uid = '$uid';
COMMIT;
SQL
[[ -n $url ]] && psql "$url" -qc 'ANALYZE' >/dev/null
start
rss() { awk '/RssAnon/ {print $2}' /proc/"$server"/status; }
cpu() { awk '{print $14 + $15}' /proc/"$server"/stat; } # clock ticks, every thread
hz=$(getconf CLK_TCK)
for format in csv jsonl csv jsonl; do
  before=$(rss) ticks=$(cpu)
  admin -o "$dir/export.$format" -w '%{time_total}\n' \
    "$base/api/1/interactive_prompts/$uid/events/export?format=$format" >"$dir/time" &
  fetch=$!
  peak=$before
  while kill -0 $fetch 2>/dev/null; do
    now=$(rss)
    ((now > peak)) && peak=$now
    sleep 0.02
  done
  wait $fetch
  secs=$(cat "$dir/time") cpus=$(((($(cpu) - ticks) * 1000) / hz))
  lines=$(wc -l <"$dir/export.$format")
  [[ $format == csv ]] && lines=$((lines - 1))
  awk -v f=$format -v n="$lines" -v s="$secs" -v c="$cpus" -v g=$((peak - before)) \
    -v b="$(stat -c %s "$dir/export.$format")" 'BEGIN {
    printf "export %-5s %d events (%.0f MiB) in %.2f s: %.0f events/s; server CPU %.2f s, %.0f events per CPU-second; RssAnon +%.1f MiB\n",
      f, n, b / 1048576, s, n / s, c / 1000, n / (c / 1000 + 1e-9), g / 1024}'
done
ticks=$(cpu)
for pass in $(seq 10); do
  after=
  while :; do
    admin -o "$dir/page" -w '%{time_total}\n' \
      "$base/api/1/interactive_prompts?limit=500&deleted=any${after:+&after=$after}" >>"$dir/pages"
    after=$(jq -r '.next // empty' "$dir/page")
    [[ -z $after ]] && break
  done
done
sort -n "$dir/pages" | awk -v c=$((($(cpu) - ticks) * 1000 / hz)) '{t[NR] = $1} END {
  printf "listing: %d pages of 500: p50 %.1f ms, p99 %.1f ms, max %.1f ms; server CPU %.1f ms a page\n",
    NR, 1000 * t[int(NR * 0.5)], 1000 * t[int(NR * 0.99)], 1000 * t[NR], c / NR}'
