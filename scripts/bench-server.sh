# Sourced by the benchmark scripts (export-, faces-, timeline-bench.sh,
# callgrind-ingest.sh): the server's fixed secrets, its rate limits off, and
# `start` runs `chorus serve` on a random port over $db, or over the
# database URL $url when it is set (with $bin, logging to $dir/out) and sets $server (its pid) and $base (its URL); `stop` ends it.
export CHORUS_ADMIN_TOKEN=bench-admin-token CHORUS_USER_JWT_SECRET=bench-user \
  CHORUS_PROMPT_JWT_SECRET=bench-prompt RUST_LOG=error \
  CHORUS_USER_EVENT_RATE=0 CHORUS_SESSION_EVENT_RATE=0 CHORUS_SESSION_START_RATE=0 CHORUS_READ_RATE=0
start() {
  rm -f "$dir/out" # else the last server's address may be read before the new one writes
  "$bin" serve --listen 127.0.0.1:0 --database "${url:-sqlite://$db}" >"$dir/out" &
  server=$!
  until base=$(grep -o 'http://[0-9.:]*' "$dir/out" 2>/dev/null); do sleep 0.1; done
}
stop() { kill "$server" && wait "$server" || true; server=; }
