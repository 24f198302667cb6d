#!/usr/bin/env bash
# What a timeline request costs the server (BENCHMARKS.md, "Timeline answers
# kept"), on SQLite: a day-long numeric prompt (131,071 bins, a ~9 MB
# answer) with one session that joined and answered. One keep-alive client
# then asks for the timeline N times in a row (every answer after the first
# is the kept one), and N times each right after a like (every answer is
# built again). Prints the server's CPU per request (`/proc/PID/stat`
# before and after) for both. Needs python3. Linux only (/proc).
#
#   bash scripts/timeline-bench.sh [N]
#   CHORUS_BIN=target/debug/chorus bash scripts/timeline-bench.sh 5
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CHORUS_BIN:-target/release/chorus}
[[ -x $bin ]] || cargo build --release --locked --bin chorus
rounds=${1:-20}
dir=$(mktemp -d)
server=
trap '[[ -n $server ]] && kill $server 2>/dev/null; rm -rf "$dir"' EXIT
db=$dir/bench.db

. scripts/bench-server.sh
start
echo "server $(basename "$bin"), load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$base" "$server" "$rounds" <<'PY'
import base64, hashlib, hmac, http.client, json, os, sys, time, urllib.parse

base, pid, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
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

def call(method, path, token, body=None):
    headers = {"Authorization": f"bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    conn.request(method, path, body, headers)
    response = conn.getresponse()
    data = response.read()
    assert response.status in (200, 201), (response.status, data[:200])
    return data

def cpu_ticks():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])

admin, user = os.environ["CHORUS_ADMIN_TOKEN"], user_token("bench-timeline")
prompt = json.loads(call("POST", "/api/1/interactive_prompts", admin, {
    "prompt": {"style": "numeric", "text": "Bench", "min": 1, "max": 10, "step": 1},
    "duration_seconds": 86400}))["uid"]
session = json.loads(call("POST", "/api/1/interactive_prompts/start_session", user,
                          {"interactive_prompt_uid": prompt}))
jwt, session_uid = session["jwt"], session["session_uid"]

def post(route, t, data):
    call("POST", f"/api/1/interactive_prompts/events/{route}", user, {
        "interactive_prompt_uid": prompt, "interactive_prompt_jwt": jwt,
        "session_uid": session_uid, "prompt_time": t, "data": data})

def timeline():
    return call("GET", f"/api/1/interactive_prompts/events/stats/timeline?uid={prompt}", jwt)

post("join", 0.0, {})
post("respond_numeric_prompt", 1.0, {"rating": 7})
size = len(timeline())  # the first answer, built and kept

def per_request(before_each):
    ticks = cpu_ticks()
    for i in range(rounds):
        before_each(i)
        timeline()
    return (cpu_ticks() - ticks) / hz / rounds * 1000

kept = per_request(lambda i: None)
built = per_request(lambda i: post("like", 2.0 + i, {}))
print(f"timeline of {size / 1e6:.1f} MB, {rounds} requests each: server CPU {kept:.1f} ms a kept answer, "
      f"{built:.1f} ms an answer built after a like (the like included)")
PY
