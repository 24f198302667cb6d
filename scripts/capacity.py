#!/usr/bin/env python3
"""The capacity model of docs/scaling.md, from the measured costs in
docs/capacity-costs.json (made by scripts/capacity-costs.py).

    python3 scripts/capacity.py           # the unit costs and the table of needs (Markdown)
    python3 scripts/capacity.py --check   # the check point: predicted against measured

Every unit cost is in CPU-µs (one core busy for a microsecond) and is
fitted to the units of work the servers themselves counted on /metrics
during each phase's window, never to the rates the phases asked for (a
server short of CPU ticks less often than ten times a second, and so
costs less per viewer-second):

* server: per HTTP request (an event or a session start) and per
  transaction (a batch's round trips on the batcher thread), from the two
  ingest phases (batches grow with the rate); per stats request (the
  stats phase); per viewer tick (ten a second each: read the feed, clock,
  nothing to send), per `event_batch` frame sent and per event in a
  frame, from the three premiere phases (quiet, low, busy) after taking
  their events' own cost out;
* PostgreSQL (the backends of the run's database; the cluster's shared
  background processes apart): a constant of a premiere's two processes
  (replay buckets read, health checks), per transaction and per event,
  from the three premiere phases; the ingest phases' own figures apart,
  for ingest (session starts add rows and transactions);
* Redis: a constant (the processes' health checks), per pipeline (a
  batch's events are published in one; Redis's cost is its passes of the
  event loop, reading the pipeline and writing each subscribed process)
  and per message to a subscribed process (below what the runs resolve:
  the table takes it as 0 when the fit is negative), from the three
  premiere phases.

The model: a server process costs requests × per request + transactions
× per transaction + stats × per stats request + ticks × per tick + frames
× per frame + deliveries × per delivery, where a viewer ticks ten times a
second, a tick sends a frame when an event came in its 100 ms (1 −
e^(−rate/10) of ticks for events arriving at random) and a viewer
receives min(event rate of its prompt, its bandwidth) events a second;
PostgreSQL transactions × per transaction + events × per event (+ the
premiere constant), where a process makes min(its events, one per commit
time) transactions a second; Redis transactions × per pipeline (× processes
÷ 2 beyond two subscribed processes: an upper bound) + events × processes
subscribed × per message. Python 3 standard library only.
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


TICKS_PER_SECOND = 10  # a viewer's connection ticks every 100 ms


def solve(rows, ys):
    """Least squares (exact for a square system): the x with rows · x ≈ ys."""
    n = len(rows[0])
    a = [[sum(r[i] * r[j] for r in rows) for j in range(n)] for i in range(n)]
    b = [sum(r[i] * y for r, y in zip(rows, ys)) for i in range(n)]
    for col in range(n):  # Gaussian elimination with partial pivoting
        piv = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[piv], b[col], b[piv] = a[piv], a[col], b[piv], b[col]
        for r in range(n):
            if r != col and a[col][col]:
                f = a[r][col] / a[col][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col])]
                b[r] -= f * b[col]
    return [b[i] / a[i][i] for i in range(n)]


def frame_share(rate):
    """Of a viewer's ticks, those with an event to send: events arriving at
    random at `rate` a second, a tick every 1/10 s."""
    return 1 - math.exp(-rate / TICKS_PER_SECOND)


def unit_costs(costs):
    """The unit costs in CPU-µs, from the measured phases."""
    ph = costs["phases"]

    def n(p, k):  # units of work a second, as the servers counted them
        return ph[p]["per_second"][k]

    def cpu(p, g):
        return ph[p]["cpu_cores"][g] * 1e6  # CPU-µs a second

    def requests(p):
        return n(p, "events") + n(p, "sessions")

    ingest, premiere = ("ingest_slow", "ingest"), ("quiet", "low", "premiere")
    u = {}
    u["server_request"], u["server_transaction"] = solve(
        [[requests(p), n(p, "batches")] for p in ingest], [cpu(p, "servers") for p in ingest])
    u["server_stats"] = cpu("stats", "servers") / n("stats", "stats")
    # The premiere phases: what the servers spent beyond their requests and
    # transactions is ticks × t + frames × f + deliveries × d.
    rest = [cpu(p, "servers") - requests(p) * u["server_request"]
            - n(p, "batches") * u["server_transaction"] for p in premiere]
    u["server_tick"], u["server_frame"], u["server_delivery"] = solve(
        [[n(p, "ticks"), n(p, "frames"), n(p, "deliveries")] for p in premiere], rest)
    # PostgreSQL, a premiere: a constant (the two processes' reads of
    # replay buckets and health checks), per transaction, per event.
    u["pg_constant"], u["pg_transaction"], u["pg_event"] = solve(
        [[1.0, n(p, "batches"), n(p, "events")] for p in premiere], [cpu(p, "postgres") for p in premiere])
    # PostgreSQL, ingest (sessions started beside the events): apart.
    u["pg_ingest_transaction"], u["pg_ingest_event"] = solve(
        [[n(p, "batches"), n(p, "events")] for p in ingest], [cpu(p, "postgres") for p in ingest])
    # How long a process's transaction takes (the busy premiere): events
    # arriving meanwhile wait for the next one.
    u["commit_ms"] = n("premiere", "commit_seconds") / n("premiere", "batches") * 1e3
    # Redis works per pipeline, not per message: a batch's events are
    # published in one pipeline, and Redis writes each subscribed process
    # what a pass of its event loop gathered. A constant (the processes'
    # health checks), per pipeline (one per transaction, with its writes
    # to the two subscribed processes) and per message to a subscribed
    # process, from the three premiere phases.
    u["redis_constant"], u["redis_pipeline"], per_event = solve(
        [[1.0, n(p, "batches"), n(p, "events")] for p in premiere], [cpu(p, "redis") for p in premiere])
    u["redis_message"] = per_event / costs["processes"]
    return u


def transactions(u, events, processes):
    """Transactions a second: a process commits one at a time, each taking
    every event that arrived meanwhile, so at most one per commit time;
    below that, each event is a transaction of its own."""
    return min(events, processes * 1e3 / u["commit_ms"])


def workload(u, events, viewers, prompt_rate, stats, processes):
    """The units of work a second the model expects (what the servers
    would count): events arriving at `prompt_rate` a second per prompt."""
    ticks = viewers * TICKS_PER_SECOND
    return {
        "requests": events, "transactions": transactions(u, events, processes), "events": events,
        "stats": stats, "ticks": ticks, "frames": ticks * frame_share(prompt_rate),
        "deliveries": viewers * min(prompt_rate, BANDWIDTH),
    }


def predict(u, w, processes, constant=False):
    """CPU cores of the servers, PostgreSQL and Redis for the work `w`
    (with `constant`, the parts that are there without events: a
    premiere's reads of replay buckets, the processes' health checks)."""
    servers = (w["requests"] * u["server_request"] + w["transactions"] * u["server_transaction"]
               + w["stats"] * u["server_stats"] + w["ticks"] * u["server_tick"]
               + w["frames"] * u["server_frame"] + w["deliveries"] * u["server_delivery"]) / 1e6
    pg = (w["transactions"] * u["pg_transaction"] + w["events"] * u["pg_event"]
          + (u["pg_constant"] if constant else 0)) / 1e6
    # The pipeline's cost was measured with two subscribed processes: with
    # more, its writes to them are counted in proportion (an upper bound).
    redis = (w["transactions"] * u["redis_pipeline"] * max(1.0, processes / 2)
             + w["events"] * processes * max(0.0, u["redis_message"])
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
        stats = STATS_PER_VIEWER * viewers
        # Processes: by CPU, or by streams per process, whichever needs more;
        # each prompt's viewers are spread over all of them.
        servers, _, _ = predict(u, workload(u, events, viewers, prompt_rate, stats, 1), 1)
        by_cpu = math.ceil(servers / (CORES_PER_PROCESS * TARGET_BUSY))
        by_streams = math.ceil(viewers / STREAMS_PER_PROCESS)
        processes = max(by_cpu, by_streams, 2)
        w = workload(u, events, viewers, prompt_rate, stats, processes)
        deliveries = w["deliveries"]
        _, pg, redis = predict(u, w, processes)
        # Each process with viewers of a prompt reads its replay buckets:
        # the premiere constant was two processes' worth.
        pg += u["pg_constant"] / 1e6 * processes * prompts / 2
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
    """The check phase: predicted from the unit costs against measured,
    from the work the model expects and from the work the servers counted."""
    ph = costs["phases"]["check"]
    viewers, processes = costs["viewers"], costs["processes"]
    got = ph["per_second"]
    events = got["events"]
    expected = workload(u, events, viewers, events, 0, processes)
    counted = {"requests": events + got["sessions"], "transactions": got["batches"],
               "events": events, "stats": 0, "ticks": got["ticks"], "frames": got["frames"],
               "deliveries": got["deliveries"]}
    by_model = predict(u, expected, processes, constant=True)
    by_count = predict(u, counted, processes, constant=True)
    m = ph["cpu_cores"]
    print(f"Check point: {ph['what']}; measured {events:.0f} events/s accepted.")
    print(f"`{ph['command']}`")
    print()
    print("| figure | predicted | measured | measured ÷ predicted | predicted from the counted work | ÷ |")
    print("|---|---|---|---|---|---|")
    rows = [(f"{k}/s", expected[k], counted[k], None) for k in ("ticks", "frames", "deliveries", "transactions")]
    rows += [(name, p, m[g], c) for name, p, g, c in [
        ("server CPU, cores (both processes)", by_model[0], "servers", by_count[0]),
        ("PostgreSQL CPU, cores (its backends)", by_model[1], "postgres", by_count[1]),
        ("Redis CPU, cores", by_model[2], "redis", by_count[2]),
    ]]
    for name, p, measured, c in rows:
        tail = f"{c:,.3f} | {measured / c:.2f}" if c is not None else "— | —"
        print(f"| {name} | {p:,.3f} | {measured:,.3f} | {measured / p:.2f} | {tail} |")
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
