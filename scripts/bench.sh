#!/usr/bin/env bash
# The benchmark table of BENCHMARKS.md, reproduced (13 to 19 minutes on the
# 2-core machine, more when it runs slow). Not a test: it never fails on a
# figure, only on a scenario that cannot run. Every scenario spawns its own
# server(s) on 127.0.0.1 and measures the machine's ceiling for the same
# kind of work in the same run, so compare the ratios more than the
# absolute numbers.
#
#   bash scripts/bench.sh            # everything (SQLite, then PostgreSQL + Redis)
#   BENCH_ONLY=sqlite bash scripts/bench.sh
#   BENCH_SCALE=0.1 bash scripts/bench.sh   # a quick pass at a tenth of the scale
#   BENCH_RTT_MS=2 bash scripts/bench.sh     # PostgreSQL + Redis again at a 2 ms round trip
#                                            # (default 1; 0 runs them only on the loopback)
#
# Reports go to target/bench/<scenario>.txt; a summary is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench
rm -rf "$out" && mkdir -p "$out"  # the summary shows this run only
scale="${BENCH_SCALE:-1}"
only="${BENCH_ONLY:-all}"
n() { python3 -c "import sys; print(max(1, int(float(sys.argv[1]) * float(sys.argv[2]))))" "$1" "$scale"; }

cargo build --release --locked --bin chorus --example sqlite_commit_rate
bin=target/release/chorus
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/machine.txt"

run() { # name, loadgen arguments…
  local name=$1; shift
  echo "== $name: chorus loadgen $*" | tee "$out/$name.cmd"
  "$bin" loadgen "$@" | tee "$out/$name.txt"
}

if [[ "$only" == all || "$only" == sqlite ]]; then
  run ingest --spawn ingest --seconds "$(n 20)" --connections 256 --users "$(n 8192)"
  run ingest-512 --spawn ingest --seconds "$(n 20)" --connections 512 --users "$(n 8192)"
  # History independence in two alternating pairs: the machine's speed
  # drifts between runs, so one pair alone says little.
  for pair in 1 2; do
    run "ingest-numeric-$pair" --spawn ingest --seconds "$(n 20)" --connections 256 --users "$(n 8192)" --style numeric
    run "ingest-history-$pair" --spawn ingest --seconds "$(n 20)" --connections 256 --users "$(n 8192)" \
      --style numeric --history "$(n 1000000)"
  done
  run stats --spawn stats --seconds "$(n 15)" --connections 64 --clients 2048
  run premiere --spawn premiere --seconds "$(n 60)" --viewers "$(n 5000)" --event-rate "$(n 1000)" \
    --participants "$(n 200)" --bandwidth 100
  run replay --spawn replay --seconds "$(n 60)" --viewers "$(n 2000)" --history "$(n 1000000)" \
    --duration 600 --bandwidth 50
  # Bucket reads on a prompt of 100,000 sessions (1 M events) and on one of
  # 1,000 beside it, at the same events per bucket, and on the small one
  # alone in a database of its own (BENCHMARKS.md, "The events table at scale").
  run popular --spawn popular --popular-sessions "$(n 100000)" --rounds 6
  # SQLite alone, no server: CPU per event of the schema's inserts, index
  # by index (the floor under the writer; BENCHMARKS.md, "SQLite alone").
  echo "== sqlite-floor: sqlite_commit_rate --events $(n 200000)" | tee "$out/sqlite-floor.cmd"
  target/release/examples/sqlite_commit_rate --events "$(n 200000)" | tee "$out/sqlite-floor.txt"
fi

if [[ "$only" == all || "$only" == postgres ]]; then
  . scripts/services.sh
  pg_admin="${CHORUS_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
  host_port() { sed -E 's|^[a-z]+://([^@/]*@)?([^/?]*).*|\2|' <<<"$1"; }
  drop_bench_dbs() { # every scenario's database, this run's and earlier runs'
    psql "$pg_admin" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'chorus_bench_%'" |
      while read -r db; do psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; done
  }
  drop_bench_dbs
  trap drop_bench_dbs EXIT
  fresh_pg() { # a fresh database, its URL pointing at $1 (host:port)
    local name="chorus_bench_$RANDOM$RANDOM"
    psql "$pg_admin" -qc "CREATE DATABASE $name" >/dev/null
    local url="${pg_admin%/*}/$name"
    echo "${url/$(host_port "$url")/$1}"
  }
  pg_scenarios() { # report prefix, PostgreSQL host:port, Redis URL
    local p=$1 at=$2
    local pg=(--spawn --processes 2 --redis "$3")
    run "$p-ingest" "${pg[@]}" --database "$(fresh_pg "$at")" ingest --seconds "$(n 20)" --connections 256 --users "$(n 8192)"
    run "$p-stats" "${pg[@]}" --database "$(fresh_pg "$at")" stats --seconds "$(n 15)" --connections 64 --clients 2048
    run "$p-premiere" "${pg[@]}" --database "$(fresh_pg "$at")" premiere --seconds "$(n 30)" --viewers "$(n 5000)" \
      --event-rate "$(n 1000)" --participants "$(n 200)" --bandwidth 100
    run "$p-replay" "${pg[@]}" --database "$(fresh_pg "$at")" replay --seconds "$(n 30)" --viewers "$(n 2000)" \
      --history "$(n 20000)" --duration 600 --bandwidth 50
  }
  pg_scenarios pg "$(host_port "$pg_admin")" "$CHORUS_TEST_REDIS"
  # The same again with a network round trip of BENCH_RTT_MS (default 1;
  # 0 skips it) between the servers and PostgreSQL and Redis: a proxy of
  # ours in front of each holds every byte back half of it each way (this
  # kernel has no netem). The load generator still talks to the servers
  # directly.
  rtt="${BENCH_RTT_MS:-1}"
  if [[ $rtt != 0 ]]; then
    proxies=()
    trap '((${#proxies[@]})) && kill "${proxies[@]}" 2>/dev/null; drop_bench_dbs' EXIT
    proxy() { # variable, host:port: starts a proxy to host:port, sets the variable to its host:port
      local log="$out/proxy-${2//[:.]/_}.log"
      "$bin" loadgen proxy --to "$2" --delay-ms "$(python3 -c "print($rtt / 2)")" >"$log" 2>&1 &
      proxies+=($!)
      until grep -q "^proxy listening on" "$log"; do
        kill -0 "$!" 2>/dev/null || { cat "$log"; exit 1; }
        sleep 0.1
      done
      printf -v "$1" '%s' "$(sed -E -n 's/^proxy listening on ([^,]*),.*/\1/p' "$log")"
    }
    proxy pg_at "$(host_port "$pg_admin")"
    proxy redis_at "$(host_port "$CHORUS_TEST_REDIS")"
    echo "== round trip ${rtt} ms: PostgreSQL through $pg_at, Redis through $redis_at" | tee "$out/rtt.cmd"
    pg_scenarios "pg-rtt$rtt" "$pg_at" "${CHORUS_TEST_REDIS/$(host_port "$CHORUS_TEST_REDIS")/$redis_at}"
  fi
fi

echo
echo "== summary (target/bench/*.txt)"
grep -H -E "^(accepted events/s|posted events accepted|stats requests/s|deliveries/s|event latency|stats latency|post→receive latency|commit→receive latency|server memory per viewer|received / due share per viewer|viewers below 90 % of bandwidth|viewers behind their clock|(small|popular|alone) prompt (read latency|server CPU per read)|popular ÷ small|small beside popular ÷ alone|unexpected errors) *:" "$out"/*.txt |
  sed -e "s|^$out/||" -e 's/\.txt:/: /'
if [[ -f "$out/sqlite-floor.txt" ]]; then
  echo "SQLite alone (sqlite-floor.txt):" && tail -n +2 "$out/sqlite-floor.txt"
fi
# The ingest goal is stated against the floor measured in the same run
# (BENCHMARKS.md, "The events table at scale"): H = 2 cores ÷ the run's
# /healthz ceiling (server plus load generator, per request), S = SQLite's
# CPU per event for the schema as the server writes it (sqlite-floor.txt,
# one thread), floor = min(1 core ÷ S, 2 cores ÷ (H + S)).
if [[ -f "$out/sqlite-floor.txt" ]]; then
  python3 - "$out" <<'PY'
import glob, os, re, sys
out = sys.argv[1]
s = None
for line in open(os.path.join(out, "sqlite-floor.txt")):
    if line.startswith("+ per-prompt: the schema"):
        s = float(line.split()[-2])
if s is None:
    sys.exit("no row for the schema in sqlite-floor.txt")
print(f"S (SQLite alone, the schema): {s:.1f} µs/event")
for path in sorted(glob.glob(os.path.join(out, "ingest*.txt"))):
    text = open(path).read()
    rate = re.search(r"^accepted events/s *: *([\d.]+)", text, re.M)
    ceiling = re.search(r"^ceiling \(GET /healthz\) *: *([\d.]+)", text, re.M)
    if not (rate and ceiling):
        continue
    rate, ceiling = float(rate.group(1)), float(ceiling.group(1))
    h = 2e6 / ceiling
    floor = min(1e6 / s, 2e6 / (h + s))
    name = os.path.basename(path)[:-4]
    print(f"{name}: {rate:.0f} events/s, H {h:.1f} µs, floor {floor:.0f}/s: ratio {rate / floor:.2f} (goal ≥ 0.8)")
PY
fi
rate() { awk '/^accepted events\/s/ {print $4}' "$out/$1.txt"; }
for pair in 1 2; do
  if [[ -f "$out/ingest-history-$pair.txt" ]]; then
    echo "history independence, pair $pair: $(rate "ingest-history-$pair") / $(rate "ingest-numeric-$pair") events/s = $(python3 -c "print(f'{$(rate "ingest-history-$pair") / $(rate "ingest-numeric-$pair"):.0%}')") of the empty prompt's rate"
  fi
done
