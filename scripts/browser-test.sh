#!/usr/bin/env bash
# End-to-end tests of the web client in a real headless browser:
#   1. installs Debian's Chromium if /usr/bin/chromium is missing;
#   2. installs the pinned playwright-core in tests/browser (npm ci);
#   3. builds the chorus binary (target/debug/chorus);
#   4. runs tests/browser/*.test.mjs with node's test runner, the files in
#      parallel: each starts its own `chorus demo --listen 127.0.0.1:0` and
#      takes prompts through the page — a word and a press prompt at a
#      desktop and at a phone viewport, and the numeric and colour prompts.
# Screenshots land in tests/browser/artifacts/ (gitignored).
# CHORUS_BIN overrides the binary, CHORUS_CHROMIUM the browser.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${CHORUS_CHROMIUM:-}" && ! -x /usr/bin/chromium ]]; then
  echo "== installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y chromium
fi

echo "== installing the browser test driver (playwright-core)"
(cd tests/browser && npm ci --no-audit --no-fund)

if [[ -z "${CHORUS_BIN:-}" ]]; then
  echo "== building chorus"
  cargo build --locked --bin chorus
  export CHORUS_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/chorus"
fi

echo "== browser tests (desktop, phone and the other styles, in parallel)"
rm -rf tests/browser/artifacts
cd tests/browser
node --test --test-concurrency=3 desktop.test.mjs phone.test.mjs styles.test.mjs
echo "screenshots: tests/browser/artifacts/"
