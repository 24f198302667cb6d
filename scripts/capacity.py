#!/usr/bin/env python3
"""The capacity model of docs/scaling.md, from the measured costs in
docs/capacity-costs.json (made by scripts/capacity-costs.py).

    python3 scripts/capacity.py           # the unit costs and the table of needs (Markdown)
    python3 scripts/capacity.py --check   # the check point: predicted against measured

The unit costs, in CPU-µs (one core busy for a microsecond), all from
two-process runs on PostgreSQL + Redis:

* server, per accepted event (the ingest phase: its session starts, HTTP,
  rules, the batch's round trips, publishing), per stats request (the stats
  phase), per delivered event and per viewer-second (the two premiere
  phases, solved together after taking the events' own cost out);
* PostgreSQL (the backends of the run's database; the cluster's shared
  background processes apart), per transaction and per event (the two
  premiere phases: about one event per transaction in the low one, many in
  the busy one), and how long a transaction takes;
* Redis, per published event (the ingest phase: no one subscribed) and per
  message sent to a subscribed process (the premiere phases).

The model: a server process costs events × per event + stats requests × per
request + deliveries × per delivery + viewers × per viewer-second;
PostgreSQL transactions × per transaction + events × per event, where a
process makes min(its events, one per commit time) transactions a second;
Redis events × (per publish + processes subscribed × per message). A viewer receives min(event rate of its prompt,
its bandwidth) events a second. Python 3 standard library only.
"""

import argparse
import json
import math
import os
import sys

COSTS = os.path.join(os.path.dirname(__file__), "..", "docs", "capacity-costs.json")

# What the table assumes (docs/scaling.md states the same).
POSTING_SHARE = 0.02  # of viewers, each posting one event a second
STATS_PER_VIEWER = 0.5  # stats requests a second (one per bin change of a 2 s bin)
BANDWIDTH = 100  # events a second each viewer asks for
CORES_PER_PROCESS = 8  # one server process per 8-core host
TARGET_BUSY = 0.6  # of a host's cores, leaving room for bursts
STREAMS_PER_PROCESS = 20_000  # the default max_streams
REDIS_CORE = 1.0  # Redis executes commands on one thread
PG_CORES = 16  # one PostgreSQL primary of 16 cores
PROMPT_VIEWERS = 100_000  # viewers per prompt at most; more viewers = more prompts

SCENARIOS = [  # viewers, prompts they are spread over
    (10_000, 1),
    (100_000, 1),
    (1_000_000, 10),
]


def unit_costs(costs):
    """The unit costs in CPU-µs, from the measured phases."""
    ph = costs["phases"]

    def rate(p, k):
        return ph[p]["per_second"][k]

    def cpu(p, g):
        return ph[p]["cpu_cores"][g] * 1e6  # CPU-µs a second

    viewers = costs["viewers"]
    u = {}
    u["server_event"] = cpu("ingest", "servers") / rate("ingest", "events")
    u["server_stats"] = cpu("stats", "servers") / rate("stats", "stats")
    # Two premiere phases, busy and low: what the servers spent beyond
    # their events' own cost is deliveries × d + viewers × v.
    rest = {p: cpu(p, "servers") - rate(p, "events") * u["server_event"] for p in ("premiere", "low")}
    d_busy, d_low = rate("premiere", "deliveries"), rate("low", "deliveries")
    u["server_delivery"] = (rest["premiere"] - rest["low"]) / (d_busy - d_low)
    u["server_viewer_second"] = (rest["low"] - d_low * u["server_delivery"]) / viewers
    # PostgreSQL: a cost per transaction (a process commits the events
    # waiting as one) and one per event, solved from the two premiere
    # phases (about one event per transaction in the low one, several in
    # the busy one).
    tx = {p: rate(p, "batches") for p in ("premiere", "low")}
    ev = {p: rate(p, "events") for p in ("premiere", "low")}
    pg = {p: cpu(p, "postgres") for p in ("premiere", "low")}
    det = tx["low"] * ev["premiere"] - tx["premiere"] * ev["low"]
    u["pg_transaction"] = (pg["low"] * ev["premiere"] - pg["premiere"] * ev["low"]) / det
    u["pg_event"] = (tx["low"] * pg["premiere"] - tx["premiere"] * pg["low"]) / det
    # How long a process's transaction takes (the premiere phase): events
    # arriving meanwhile wait for the next one.
    u["commit_ms"] = rate("premiere", "commit_seconds") / tx["premiere"] * 1e3
    de = ev["premiere"] - ev["low"]
    u["redis_publish"] = cpu("ingest", "redis") / rate("ingest", "events")  # no one subscribed
    per_event = (cpu("premiere", "redis") - cpu("low", "redis")) / de
    # What the busy phase's events added per event, all counted as the
    # messages to the subscribed processes: an upper bound per message (the
    # publishes themselves cost less in pipelines than alone).
    u["redis_message"] = per_event / costs["processes"]
    u["redis_constant"] = cpu("low", "redis") - rate("low", "events") * per_event
    return u


def transactions(u, events, processes):
    """Transactions a second: a process commits one at a time, each taking
    every event that arrived meanwhile, so at most one per commit time;
    below that, each event is a transaction of its own."""
    return min(events, processes * 1e3 / u["commit_ms"])


def predict(u, events, viewers, deliveries, stats, processes, constant=False):
    """CPU cores of the servers, PostgreSQL and Redis (with `constant`,
    Redis's part that is there without events: two processes' health
    checks)."""
    servers = (events * u["server_event"] + stats * u["server_stats"]
               + deliveries * u["server_delivery"] + viewers * u["server_viewer_second"]) / 1e6
    pg = (transactions(u, events, processes) * u["pg_transaction"] + events * u["pg_event"]) / 1e6
    redis = (events * (u["redis_publish"] + processes * u["redis_message"])
             + (u["redis_constant"] if constant else 0)) / 1e6
    return servers, pg, redis


def fmt(n):
    return f"{n:,.0f}" if n >= 10 else f"{n:.2g}"


def table(u):
    rows = []
    for viewers, prompts in SCENARIOS:
        per_prompt = viewers / prompts
        events = POSTING_SHARE * viewers
        prompt_rate = events / prompts
        deliveries = viewers * min(prompt_rate, BANDWIDTH)
        stats = STATS_PER_VIEWER * viewers
        # Processes: by CPU, or by streams per process, whichever needs more;
        # each prompt's viewers are spread over all of them.
        servers, _, _ = predict(u, events, viewers, deliveries, stats, 1)
        by_cpu = math.ceil(servers / (CORES_PER_PROCESS * TARGET_BUSY))
        by_streams = math.ceil(viewers / STREAMS_PER_PROCESS)
        processes = max(by_cpu, by_streams, 2)
        _, pg, redis = predict(u, events, viewers, deliveries, stats, processes)
        redis_per_prompt = redis / prompts
        rows.append({
            "viewers": viewers, "prompts": prompts, "per_prompt": per_prompt,
            "events": events, "prompt_rate": prompt_rate, "deliveries": deliveries,
            "stats": stats, "server_cores": servers, "processes": processes,
            "by": "CPU" if by_cpu >= by_streams else "streams",
            "pg_cores": pg, "redis_cores": redis, "redis_per_prompt": redis_per_prompt,
            "redis_instances": max(1, math.ceil(redis / (REDIS_CORE * TARGET_BUSY))),
        })
    return rows


def print_table(u):
    print("Unit costs (CPU-µs):")
    for k, v in u.items():
        print(f"* {k}: {v:.2f}")
    print()
    print(f"Assumed: {POSTING_SHARE:.0%} of viewers post one event a second; "
          f"{STATS_PER_VIEWER} stats requests a second per viewer; bandwidth {BANDWIDTH}; "
          f"a process per {CORES_PER_PROCESS}-core host at most {TARGET_BUSY:.0%} busy, "
          f"at most {STREAMS_PER_PROCESS:,} streams each.")
    print()
    print("| viewers | prompts | events/s (per prompt) | deliveries/s | stats req/s "
          "| server cores → processes | PostgreSQL cores | Redis cores (per prompt) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in table(u):
        print(f"| {r['viewers']:,} | {r['prompts']} | {fmt(r['events'])} ({fmt(r['prompt_rate'])}) "
              f"| {fmt(r['deliveries'])} | {fmt(r['stats'])} "
              f"| {r['server_cores']:.1f} → **{r['processes']}** (by {r['by']}) "
              f"| {r['pg_cores']:.2f} | {r['redis_cores']:.2f} ({r['redis_per_prompt']:.2f}) |")


def check(costs, u):
    """The check phase: predicted from the unit costs against measured."""
    ph = costs["phases"]["check"]
    viewers, processes = costs["viewers"], costs["processes"]
    events = ph["per_second"]["events"]
    deliveries = viewers * min(events, costs["bandwidth"])
    servers, pg, redis = predict(u, events, viewers, deliveries, 0, processes, constant=True)
    m = ph["cpu_cores"]
    print(f"Check point: {ph['what']}; measured {events:.0f} events/s accepted.")
    print(f"`{ph['command']}`")
    print()
    print("| figure | predicted | measured | measured ÷ predicted |")
    print("|---|---|---|---|")
    for name, p, got in [
        ("deliveries/s", deliveries, ph["per_second"]["deliveries"]),
        ("PostgreSQL transactions/s", transactions(u, events, processes), ph["per_second"]["batches"]),
        ("server CPU, cores (both processes)", servers, m["servers"]),
        ("PostgreSQL CPU, cores (its backends)", pg, m["postgres"]),
        ("Redis CPU, cores", redis, m["redis"]),
    ]:
        print(f"| {name} | {p:,.3f} | {got:,.3f} | {got / p:.2f} |")
    mach = ph["machine"]
    print()
    print(f"Machine during the window: {mach['busy_cores']} of {mach['cores']} cores busy, "
          f"{mach['others_cores']} by other processes; load {mach['loadavg']}.")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--costs", default=COSTS)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    with open(args.costs) as f:
        costs = json.load(f)
    u = unit_costs(costs)
    if args.check:
        check(costs, u)
    else:
        print_table(u)


if __name__ == "__main__":
    sys.exit(main())
