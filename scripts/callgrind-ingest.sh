#!/usr/bin/env bash
# Instructions per accepted event, per thread group of the server, and the
# costliest functions (inclusive) of the SQLite writer thread and of the
# workers: `chorus serve` (release, SQLite) runs under valgrind's callgrind,
# which counts instructions deterministically where CPU time on a shared
# machine does not; `chorus loadgen ingest` drives it open-loop at a fixed
# rate, or closed-loop by default (RATE 0: the writer then commits groups
# of tens of jobs, as it does under real load). Counters
# are zeroed once the server is up, so start-up is not counted; the
# loadgen's setup (prompts, tokens) is. Needs valgrind; Linux only.
#
#   bash scripts/callgrind-ingest.sh [RATE [SECONDS [ingest options…]]]
#   bash scripts/callgrind-ingest.sh 0 30 --style numeric
#   CHORUS_BIN=/path/to/other/chorus bash scripts/callgrind-ingest.sh   # an A/B
#
# 256 users (USERS=…), so that most requests are events, not session starts.
#
# Keeps the profiles in target/callgrind/ (`callgrind_annotate --inclusive=yes FILE`).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CHORUS_BIN:-target/release/chorus}
[[ -x $bin ]] || cargo build --release --locked --bin chorus
rate=${1:-0}
seconds=${2:-20}
shift $(($# < 2 ? $# : 2))
out=${CALLGRIND_OUT:-target/callgrind}
mkdir -p "$out"
rm -f "$out"/callgrind.out.*
dir=$(mktemp -d)
server=
trap '[[ -n $server ]] && kill $server 2>/dev/null; rm -rf "$dir"' EXIT
. scripts/bench-server.sh # the secrets and rate limits only: the server runs under valgrind

valgrind --tool=callgrind --separate-threads=yes --dump-instr=no \
  --callgrind-out-file="$out/callgrind.out.%p" \
  "$bin" serve --listen 127.0.0.1:0 --database "sqlite://$dir/chorus.db" >"$dir/out" 2>"$dir/valgrind" &
server=$!
until base=$(grep -o 'http://[0-9.:]*' "$dir/out" 2>/dev/null); do sleep 0.2; done
callgrind_control -z "$server" >/dev/null
"$bin" loadgen --url "$base" --no-ceiling ingest --rate "$rate" --seconds "$seconds" \
  --connections 64 --users "${USERS:-256}" "$@" >"$dir/loadgen" 2>&1
events=$(curl -s "$base/metrics" | awk '/^chorus_events_accepted_total/ {s += $2} END {print s + 0}')
batch=$(curl -s "$base/metrics" | awk '/^chorus_commit_batch_size_(sum|count)/ {v[$1 ~ /sum/] = $2}
  END {if (v[0]) printf "%.1f", v[1] / v[0]}')
kill -INT "$server"
wait "$server" || true
server=
cat "$dir/loadgen"
echo "events accepted: $events; jobs per group: ${batch:-?}"

# Each thread's profile, named by the function that identifies its thread.
for f in "$out"/callgrind.out.*; do
  total=$(awk '/^(summary|totals):/ {print $2; exit}' "$f")
  # (the sync thread's loop may be inlined: it alone applies groups to the kept arrays)
  case $(grep -m1 -oE 'writer::run|durability::run|cache::Hot::apply|connection::checkpointer|multi_thread::worker::run' "$f" || true) in
    writer::run) group=writer ;;
    durability::run | cache::Hot::apply) group=sync ;;
    connection::checkpointer) group=checkpoint ;;
    multi_thread::worker::run) group=workers ;;
    *) group=other ;;
  esac
  echo "$group $total $f"
done >"$dir/threads"
awk -v n="$events" '{ s[$1] += $2; t += $2 }
  END { for (g in s) printf "%-12s %10.0f instructions/event\n", g, s[g] / n;
        printf "%-12s %10.0f instructions/event\n", "server", t / n }' "$dir/threads" | sort
top() { # the top inclusive functions of a thread group, per event (largest first)
  local f
  [[ -n $(awk -v g="$1" '$1 == g' "$dir/threads") ]] || return 0
  echo "--- $1: inclusive instructions per event"
  for f in $(awk -v g="$1" '$1 == g {print $3}' "$dir/threads"); do
    # "N (p%)  file:function [object]" → the largest N per function in this thread
    callgrind_annotate --inclusive=yes --threshold=100 "$f" 2>/dev/null |
      awk '/^ *[0-9,]+ +\(/ && !/PROGRAM TOTALS/ { v = $1; gsub(",", "", v); $1 = ""; $2 = "";
        sub(/^ *[^:]*:/, ""); sub(/ \[[^]]*\]$/, ""); if (v > m[$0]) m[$0] = v }
        END { for (k in m) print m[k] "\t" k }'
  done | awk -F'\t' -v n="$events" '{ s[$2] += $1 } END { for (k in s) printf "%9.0f %s\n", s[k] / n, k }' |
    sort -rn | head -"${2:-40}"
}
top writer 60
top workers 60
