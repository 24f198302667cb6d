#!/usr/bin/env bash
# Who is here at scale (BENCHMARKS.md, "Who is here"), on SQLite: does a
# `profile_pictures` answer cost more on a prompt taken by 100,000 people
# than on one taken by 1,000? Setup, not measured: a fresh database with
# two 2-hour prompts, SMALL (default 1,000) and LARGE (default 100,000)
# sessions, every user with a picture, each session joined at a spread-out
# time and half of them left later, written straight in SQL; `chorus
# rebuild` then derives the presence rows exactly as the server keeps them.
# Then, against `chorus serve` (rate limits off), one keep-alive client
# asks each prompt about every one of its 3,600 two-second steps once
# (each step drawn afresh: the per-process sample cache never answers),
# twice over with the prompts alternating: p50, p99 per request and the
# server's CPU per request, per prompt, and the ratio large ÷ small.
# Needs sqlite3 and python3. Linux only (/proc).
#
#   bash scripts/faces-bench.sh [SMALL] [LARGE]
#   CHORUS_BIN=target/debug/chorus bash scripts/faces-bench.sh 100 10000
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CHORUS_BIN:-target/release/chorus}
[[ -x $bin ]] || cargo build --release --locked --bin chorus
small=${1:-1000}
large=${2:-100000}
dir=$(mktemp -d)
server=
trap '[[ -n $server ]] && kill $server 2>/dev/null; rm -rf "$dir"' EXIT
db=$dir/bench.db

. scripts/bench-server.sh
create() { # a 2-hour numeric prompt; prints its uid
  curl -fsS -H "Authorization: bearer $CHORUS_ADMIN_TOKEN" -H 'Content-Type: application/json' \
    "$base/api/1/interactive_prompts" -d '{"prompt": {"style": "numeric", "text": "Bench",
    "min": 1, "max": 10, "step": 1}, "duration_seconds": 7200}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["uid"])'
}

start
small_uid=$(create) large_uid=$(create)
stop
echo "filling $small_uid with $small sessions and $large_uid with $large (setup)"
sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $large)
INSERT INTO users(sub, given_name, picture, created_at)
SELECT 'bench-' || i, 'Bench ' || i, 'https://pictures.example/' || i || '.png', 0 FROM n;
INSERT INTO interactive_prompt_sessions(interactive_prompt_id, user_id, uid)
SELECT p.id, u.id, 'ips_' || p.id || '_' || u.id FROM interactive_prompts p, users u
WHERE (p.uid = '$small_uid' AND u.id <= $small) OR p.uid = '$large_uid';
-- joined somewhere in the first 7,000 s; every other session leaves 30 to
-- 1,029 s later.
INSERT INTO interactive_prompt_events
  (uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
SELECT printf('ipe_j%021d', s.id), s.id, 'join', '{}', (s.id * 7919 % 7000) + 0.5, 1800000000, s.interactive_prompt_id
FROM interactive_prompt_sessions s;
INSERT INTO interactive_prompt_events
  (uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
SELECT printf('ipe_l%021d', s.id), s.id, 'leave', '{}',
  MIN(7199.0, (s.id * 7919 % 7000) + 30.5 + s.id * 31 % 1000), 1800000000, s.interactive_prompt_id
FROM interactive_prompt_sessions s WHERE s.id % 2 = 0;
COMMIT;
SQL
"$bin" rebuild --database "sqlite://$db" >/dev/null
start
echo "server $(basename "$bin"), load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$base" "$server" "$small_uid" "$large_uid" "$small" "$large" <<'PY'
import base64, hashlib, hmac, http.client, json, os, sys, time, urllib.parse

base, pid, small_uid, large_uid, small, large = sys.argv[1:]
url = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(url.hostname, url.port)
hz = os.sysconf("SC_CLK_TCK")

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def user_token(sub):
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    body = b64(json.dumps({"sub": sub, "iat": now, "exp": now + 3600}).encode())
    sig = hmac.new(os.environ["CHORUS_USER_JWT_SECRET"].encode(), f"{head}.{body}".encode(), hashlib.sha256)
    return f"{head}.{body}.{b64(sig.digest())}"

def post(path, body, token):
    conn.request("POST", path, json.dumps(body), {"Authorization": f"bearer {token}",
                                                   "Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    assert response.status in (200, 201), (response.status, data)
    return json.loads(data)

def cpu_ticks():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])

token = user_token("bench-asker")
prompt_jwt = {uid: post("/api/1/interactive_prompts/start_session",
                        {"interactive_prompt_uid": uid}, token)["jwt"] for uid in (small_uid, large_uid)}
times = {small_uid: [], large_uid: []}
ticks = {small_uid: 0, large_uid: 0}
faces = {small_uid: 0, large_uid: 0}
for rounds in range(2):
    for uid in (small_uid, large_uid) if rounds == 0 else (large_uid, small_uid):
        before = cpu_ticks()
        for step in range(rounds, 3600, 2):  # each step once over both rounds
            body = {"uid": uid, "jwt": prompt_jwt[uid], "prompt_time": step * 2.0, "limit": 10}
            t = time.perf_counter()
            answer = post("/api/1/interactive_prompts/profile_pictures", body, token)
            times[uid].append(time.perf_counter() - t)
            faces[uid] += len(answer["items"])
        ticks[uid] += cpu_ticks() - before

def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))] * 1000

figures = {}
for uid, n in ((small_uid, small), (large_uid, large)):
    per = ticks[uid] / hz / len(times[uid]) * 1e6
    figures[uid] = (pct(times[uid], 0.5), pct(times[uid], 0.99), per)
    print(f"{n:>7} sessions: {len(times[uid])} requests, {faces[uid] / len(times[uid]):.1f} faces each; "
          f"p50 {figures[uid][0]:.2f} ms, p99 {figures[uid][1]:.2f} ms; server CPU {per:.0f} µs a request")
s, l = figures[small_uid], figures[large_uid]
print(f"large ÷ small: p50 {l[0] / s[0]:.2f}×, p99 {l[1] / s[1]:.2f}×, CPU {l[2] / s[2]:.2f}×")
PY
