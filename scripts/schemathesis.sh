#!/usr/bin/env bash
# Property-based API testing of the served OpenAPI document with
# Schemathesis: every operation of GET /openapi.json is called with
# generated valid and invalid requests, and every response must be no 5xx,
# have a documented status and content type, and match its schema.
#
#   bash scripts/schemathesis.sh            # about two minutes
#   SCHEMATHESIS_EXAMPLES=300 SCHEMATHESIS_SEED=42 bash scripts/schemathesis.sh
#
# Schemathesis is installed from PyPI into target/schemathesis-venv. The
# server is a debug build in dev mode on a fresh SQLite file; the script
# signs in as a dev user, creates a prompt and starts a session so that
# admin, user and prompt tokens are all valid (then what is exercised is
# the body and parameter handling, not just the 401/403 paths).
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
venv=target/schemathesis-venv
examples="${SCHEMATHESIS_EXAMPLES:-100}"

if [[ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != *"$version"* ]]; then
  echo "== installing schemathesis $version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

if [[ -z "${CHORUS_BIN:-}" ]]; then
  cargo build --locked --quiet --bin chorus
  CHORUS_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/chorus"
fi

work="$(mktemp -d)"
server=""
cleanup() {
  if [[ -n "$server" ]]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

RUST_LOG="${RUST_LOG:-error}" "$CHORUS_BIN" serve --dev --listen 127.0.0.1:0 \
  --database "sqlite://$work/chorus.db" >"$work/stdout" 2>"$work/stderr" &
server=$!
for _ in $(seq 100); do
  [[ $(wc -l <"$work/stdout") -ge 2 ]] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/stderr"; echo "the server exited" >&2; exit 1; }
  sleep 0.1
done
base="$(sed -n 's/^chorus listening on \(http:[^ ]*\)$/\1/p' "$work/stdout")"
admin="$(sed -n 's/^dev mode: admin token \([^ ]*\)$/\1/p' "$work/stdout")"
[[ -n "$base" && -n "$admin" ]] || { cat "$work/stdout" "$work/stderr"; echo "unexpected start-up output" >&2; exit 1; }
echo "== server at $base"

# One request, its JSON body on stdout; fails unless the status is $1.
call() {
  local want="$1" method="$2" path="$3" token="$4" body="${5:-}"
  local out status
  out="$(curl -sS -o "$work/body" -w '%{http_code}' -X "$method" "$base$path" \
    -H "authorization: bearer $token" -H 'content-type: application/json' \
    ${body:+--data "$body"})"
  status="$out"
  [[ "$status" == "$want" ]] || { echo "$method $path: $status $(cat "$work/body")" >&2; exit 1; }
  cat "$work/body"
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

user="$(call 200 POST /api/1/dev/login none '{"name": "Schemathesis"}' | json '["user_jwt"]')"
prompt_uid="$(call 201 POST /api/1/interactive_prompts "$admin" \
  '{"prompt": {"style": "numeric", "text": "How is it?", "min": 1, "max": 5, "step": 1}, "duration_seconds": 60}' |
  json '["uid"]')"
session="$(call 201 POST /api/1/interactive_prompts/start_session "$user" \
  "{\"interactive_prompt_uid\": \"$prompt_uid\"}")"
prompt_jwt="$(json '["jwt"]' <<<"$session")"
session_uid="$(json '["session_uid"]' <<<"$session")"

# Tokens by security scheme name. The stats routes and the bodies get the
# real prompt, session and prompt token (else nearly every call would stop
# at a 403 or 404 before the interesting checks).
cat >"$work/schemathesis.toml" <<EOF
[cache]
directory = "$PWD/target/schemathesis-cache"
[auth.openapi.admin_token]
bearer = "$admin"
[auth.openapi.user_token]
bearer = "$user"
[auth.openapi.prompt_token]
bearer = "$prompt_jwt"
[parameters]
"query.uid" = "$prompt_uid"
"body.interactive_prompt_uid" = "$prompt_uid"
"body.interactive_prompt_jwt" = "$prompt_jwt"
"body.session_uid" = "$session_uid"
EOF

echo "== schemathesis $version: $examples examples per operation"
rm -rf target/schemathesis-report
"$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,ignored_auth,unsupported_method,allow_header_conformance,missing_required_header \
  --max-examples "$examples" \
  ${SCHEMATHESIS_SEED:+--seed "$SCHEMATHESIS_SEED"} \
  --request-timeout 10 \
  --report junit,ndjson --report-dir target/schemathesis-report

kill -0 "$server" 2>/dev/null || { echo "the server died during the run" >&2; exit 1; }
echo "== schemathesis passed"
