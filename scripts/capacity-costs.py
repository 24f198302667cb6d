#!/usr/bin/env python3
"""What the capacity model of docs/scaling.md is made of, measured: CPU per
unit of work of the Chorus servers, of PostgreSQL and of Redis, in runs of
two server processes on PostgreSQL + Redis (`chorus loadgen --spawn
--processes 2`).

Each phase runs one loadgen scenario and, once it is steady, samples over a
window (from /proc) the CPU time (utime + stime) of the two servers, of the
PostgreSQL backends serving the phase's database (and, apart, the
cluster's shared background processes), of a private redis-server started
for the run (so no one else's use of Redis counts), and of the load
generator, and divides by the work the servers counted meanwhile on their
/metrics: events accepted, sessions started, transactions, stats requests
answered, the viewers' ticks, the event_batch frames sent and the events
delivered in them. CPU per unit of work holds on a machine others share; the load of
the machine during each window is recorded with it.

    python3 scripts/capacity-costs.py                  # measure, print JSON
    python3 scripts/capacity-costs.py --out docs/capacity-costs.json
    python3 scripts/capacity-costs.py --phases check   # only the check point
    python3 scripts/capacity-costs.py --phases saturated   # ingest at saturation

Linux only; needs target/release/chorus (or --bin), psql, redis-server, ss.
Python 3 standard library only.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")
BANDWIDTH = 100


def phases(viewers):
    """name → (what it measures, loadgen scenario arguments, the figure that
    must be flowing before the window opens)."""
    v, bw = str(viewers), str(BANDWIDTH)

    def premiere(rate, participants):
        return (f"{viewers} viewers, {rate} events/s posted, bandwidth {bw}",
                ["premiere", "--viewers", v, "--event-rate", str(rate),
                 "--participants", str(participants), "--bandwidth", bw],
                "deliveries")

    def ingest(rate, users):
        # (sessions are started at the same rate first: few users at a low rate)
        return (f"accepted events, no viewers (open loop, {rate:,} requests/s)",
                ["ingest", "--connections", "64", "--users", str(users), "--rate", str(rate)],
                "events")

    return {
        # Two ingest rates: what a transaction costs apart from its events
        # (at 300 requests/s nearly every event is a transaction of its
        # own; at 1,500 they hold several each).
        "ingest_slow": ingest(300, 512),
        "ingest": ingest(1500, 4096),
        "stats": ("stats requests (closed loop)",
                  ["stats", "--connections", "32", "--clients", "1024"],
                  "stats"),
        # Three premiere phases: what a viewer's tick, a frame and an event
        # in a frame cost (the quiet one sends few frames, the busy one one
        # per tick with ten events in it).
        "quiet": premiere(2, 2),
        "low": premiere(20, 20),
        "premiere": premiere(1000, 200),
        "check": premiere(50, 20),
        # Not in the model (not run by default): ingest at saturation, the
        # scenario of BENCHMARKS.md, for what an event costs every process
        # when batches are as large as they get.
        "saturated": ("accepted events, no viewers (closed loop, saturation)",
                      ["ingest", "--connections", "256", "--users", "8192"],
                      "events"),
    }


DEFAULT_PHASES = "ingest_slow,ingest,stats,quiet,low,premiere,check"


def ticks(pid):
    """utime + stime of a process (all its threads), in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def machine_busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return sum(cpu) - idle, sum(cpu)


def children(pid):
    """Process ids whose parent is `pid`."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
            if ppid == pid:
                out.append(int(entry))
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


def listening_port(pid):
    """The TCP port process `pid` listens on (via ss), or None."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if f"pid={pid}," in line:
            return line.split()[3].rsplit(":", 1)[1]
    return None


def scrape(port):
    """events accepted, stats requests answered, deliveries, open streams."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    got = {"events": 0.0, "stats": 0.0, "deliveries": 0.0, "streams": 0.0, "batches": 0.0,
           "commit_seconds": 0.0, "sessions": 0.0, "ticks": 0.0, "frames": 0.0}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name, value = line.rsplit(" ", 1)
        value = float(value)
        if name.startswith("chorus_events_accepted_total"):
            got["events"] += value
        elif name.startswith("chorus_http_requests_total") and 'route="/api/1/interactive_prompts/events/stats"' in name:
            got["stats"] += value
        elif name.startswith("chorus_http_requests_total") and 'route="/api/1/interactive_prompts/start_session"' in name:
            got["sessions"] += value
        elif name.startswith("chorus_stream_ticks_total"):
            got["ticks"] += value
        elif name.startswith("chorus_stream_batches_sent_total"):
            got["frames"] += value
        elif name.startswith("chorus_stream_events_delivered_total"):
            got["deliveries"] += value
        elif name.startswith("chorus_open_streams"):
            got["streams"] += value
        elif name.startswith("chorus_commit_batch_size_count"):
            got["batches"] += value
        elif name.startswith("chorus_commit_duration_seconds_sum"):
            got["commit_seconds"] += value
    return got


def psql(admin, sql):
    return subprocess.run(["psql", admin, "-Atqc", sql], capture_output=True, text=True,
                          check=True).stdout.split()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of this run's own, on a free port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="chorus-capacity-redis-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        sys.exit("the private redis-server did not start")

    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def sample(groups):
    """CPU ticks per process id, by group: {group: {pid: ticks}}."""
    return {g: {p: t for p in pids if (t := ticks(p)) is not None} for g, pids in groups.items()}


def spent(before, after):
    """CPU seconds per group between two samples; a process that appeared
    in between counts from its start."""
    return {g: sum(t - before[g].get(p, 0) for p, t in after[g].items()) / HZ for g in after}


def run_phase(name, args, redis, admin):
    what, scenario, flowing = phases(args.viewers)[name]
    db = f"chorus_capacity_{name}_{os.getpid()}"
    psql(admin, f"CREATE DATABASE {db}")
    database = admin.rsplit("/", 1)[0] + "/" + db
    seconds = args.warmup + args.window + 10
    cmd = [args.bin, "loadgen", "--spawn", "--processes", "2", "--no-ceiling",
           "--database", database, "--redis", redis.url(), *scenario, "--seconds", str(seconds)]
    print(f"== {name}: {what}\n   {' '.join(cmd)}", file=sys.stderr)
    log = tempfile.TemporaryFile(mode="w+")
    started = time.monotonic()
    loadgen = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        servers = []
        while len(servers) < 2:
            if loadgen.poll() is not None:
                log.seek(0)
                sys.exit(f"loadgen ended early:\n{log.read()}")
            servers = [p for p in children(loadgen.pid) if " serve " in cmdline(p)]
            time.sleep(0.2)
        ports = []
        while len(ports) < 2:
            ports = [p for p in (listening_port(s) for s in servers) if p]
            time.sleep(0.2)
        while sum(scrape(p)[flowing] for p in ports) == 0:
            if loadgen.poll() is not None:
                log.seek(0)
                sys.exit(f"loadgen ended before any {flowing}:\n{log.read()}")
            time.sleep(0.5)
        print(f"   {flowing} flowing after {time.monotonic() - started:.1f} s", file=sys.stderr)
        time.sleep(args.warmup)
        def groups():
            return {"servers": servers,
                    "postgres": [int(p) for p in psql(admin, f"SELECT pid FROM pg_stat_activity WHERE datname = '{db}'")],
                    "postgres_shared": [int(p) for p in psql(admin, "SELECT pid FROM pg_stat_activity WHERE datname IS NULL")],
                    "redis": [redis.proc.pid], "loadgen": [loadgen.pid]}
        load1 = open("/proc/loadavg").read().split()[0]
        g = groups()  # (psql is slow: list the processes first, then sample at once)
        t1, c1, m1, b1 = time.monotonic(), sample(g), machine_busy(), [scrape(p) for p in ports]
        time.sleep(args.window)
        g = groups()
        t2, c2, m2, b2 = time.monotonic(), sample(g), machine_busy(), [scrape(p) for p in ports]
        if loadgen.poll() is not None:
            sys.exit("the scenario ended inside the window: give it more --seconds")
        load2 = open("/proc/loadavg").read().split()[0]
        loadgen.wait()
        log.seek(0)
        report = log.read()
    finally:
        if loadgen.poll() is None:
            loadgen.terminate()
            loadgen.wait()
        try:
            psql(admin, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        except subprocess.CalledProcessError:
            pass
    elapsed = t2 - t1
    work = {k: sum(b[k] for b in b2) - sum(b[k] for b in b1)
            for k in ("events", "sessions", "stats", "deliveries", "ticks", "frames", "batches", "commit_seconds")}
    cpu = spent(c1, c2)
    busy = (m2[0] - m1[0]) / (m2[1] - m1[1]) * os.cpu_count()
    result = {
        "what": what,
        "command": " ".join(["chorus", *cmd[1:]]),
        "window_s": round(elapsed, 2),
        "per_second": {k: round(v / elapsed, 3) for k, v in work.items()},
        "cpu_cores": {g: round(v / elapsed, 4) for g, v in cpu.items()},
        "streams": sum(b["streams"] for b in b2),
        "machine": {"busy_cores": round(busy, 2), "cores": os.cpu_count(),
                    "others_cores": round(busy - sum(cpu.values()) / elapsed, 2),
                    "loadavg": [float(load1), float(load2)]},
        "loadgen_report": [l for l in report.splitlines()
                           if re.match(r"^(accepted events/s|stats requests/s|deliveries/s|unexpected errors|posted events accepted)", l)],
    }
    print(json.dumps(result, indent=1, ensure_ascii=False), file=sys.stderr)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="target/release/chorus")
    ap.add_argument("--phases", default=DEFAULT_PHASES, help="comma-separated, of: " + ", ".join(phases(0)))
    ap.add_argument("--viewers", type=int, default=2000, help="viewers of the premiere phases")
    ap.add_argument("--warmup", type=float, default=4.0, help="seconds of steady load before the window")
    ap.add_argument("--window", type=float, default=12.0, help="seconds sampled")
    ap.add_argument("--out", help="write the JSON here (else stdout)")
    args = ap.parse_args()
    admin = os.environ.get("CHORUS_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    redis = PrivateRedis()
    try:
            measured = {name: run_phase(name, args, redis, admin) for name in args.phases.split(",")}
    finally:
        redis.stop()
    out = {
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit,
        "script": "python3 scripts/capacity-costs.py " + " ".join(sys.argv[1:]),
        "processes": 2,
        "viewers": args.viewers,
        "bandwidth": BANDWIDTH,
        "phases": measured,
    }
    text = json.dumps(out, indent=1, ensure_ascii=False) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
