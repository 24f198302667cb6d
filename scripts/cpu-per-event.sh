#!/usr/bin/env bash
# Where an ingest run's CPU goes, per accepted event and per thread group:
# starts `chorus loadgen --spawn ingest` (extra arguments are passed on),
# samples utime+stime of every thread of the server and of the loadgen from
# /proc over 4 s in mid-run, and divides by the events accepted meanwhile
# (read from the server's /metrics). Also prints bytes written per event
# (WAL, checkpoints) and the WAL file's size. Linux only; needs curl and ss.
# With --healthz first, the same for the ingest scenario's ceiling: CPU per
# closed-loop `GET /healthz` over the same connections (the HTTP floor).
#
#   bash scripts/cpu-per-event.sh --connections 256
#   bash scripts/cpu-per-event.sh --connections 256 --style numeric --history 1000000
#   bash scripts/cpu-per-event.sh --healthz --connections 256
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/chorus
[[ -x $bin ]] || cargo build --release --locked --bin chorus
unit=event
if [[ ${1:-} == --healthz ]]; then
  shift
  unit=request
  run=(--ceiling-seconds 14 ingest --seconds 1)
else
  run=(--no-ceiling ingest --seconds 15)
fi
log=$(mktemp)
"$bin" loadgen --spawn "${run[@]}" --users 8192 "$@" >"$log" 2>&1 &
loadgen=$!
# Wait for the server, then for events to flow (after any --history fill).
until server=$(pgrep -P "$loadgen" -f "chorus serve" | head -1) && [[ -n $server ]] &&
  port=$(ss -ltnpH | grep "pid=$server," | awk '{print $4}' | head -1) && [[ -n $port ]]; do
  sleep 1
done
hz=$(getconf CLK_TCK)

cpu() { # thread name → clock ticks, for process $1
  for t in /proc/"$1"/task/*; do
    echo "$2$(tr ' ' '_' <"$t/comm") $(awk '{print $14 + $15}' "$t/stat")"
  done | awk '{s[$1] += $2} END {for (k in s) print k, s[k]}' | sort
}
counted() { # events accepted, or /healthz requests answered
  if [[ $unit == event ]]; then
    curl -s "http://$port/metrics" | awk '/^chorus_events_accepted_total/ {s += $2} END {print s + 0}'
  else
    curl -s "http://$port/metrics" | awk '/^chorus_http_requests_total/ && /healthz/ {s += $2} END {print s + 0}'
  fi
}
written() { awk '/^wchar/ {print $2}' /proc/"$server"/io; }

until (($(counted) > 0)); do sleep 1; done
sleep 4
cpu "$server" "server:" >"$log.c1"; cpu "$loadgen" "loadgen:" >>"$log.c1"
e1=$(counted); w1=$(written)
sleep 4
cpu "$server" "server:" >"$log.c2"; cpu "$loadgen" "loadgen:" >>"$log.c2"
e2=$(counted); w2=$(written)
events=$((e2 - e1))

echo "${unit}s in the window: $events"
if [[ $unit == event ]]; then
  echo "bytes written per event: $(((w2 - w1) / events))"
  ls -l /tmp/chorus-loadgen-*/chorus.db-wal 2>/dev/null | awk '{print "WAL file size: " $5}' | tail -1
fi
join "$log.c1" "$log.c2" | awk -v n="$events" -v hz="$hz" -v unit="$unit" '
  { us = ($3 - $2) * 1e6 / hz / n; total += us; printf "%-32s %6.1f µs/%s\n", $1, us, unit }
  END { printf "%-32s %6.1f µs/%s\n", "total", total, unit }'
wait "$loadgen"
grep -E "accepted events/s|event latency|ceiling \(GET" "$log"
rm -f "$log" "$log.c1" "$log.c2"
