#!/usr/bin/env bash
# End-to-end tests of the web client in real headless browsers:
#   1. installs Debian's Chromium if /usr/bin/chromium is missing, and
#      Debian's Firefox ESR if /usr/bin/firefox-esr is missing;
#   2. installs the pinned drivers in tests/browser (npm ci): playwright-core
#      for Chromium, puppeteer-core for Firefox (WebDriver BiDi, no geckodriver);
#   3. builds the chorus binary (target/debug/chorus);
#   4. runs tests/browser/*.test.mjs with node's test runner, the files in
#      parallel: each starts its own `chorus demo --listen 127.0.0.1:0` and
#      takes prompts through the page — a word and a press prompt at a
#      desktop and at a phone viewport and in Firefox, and the numeric and
#      colour prompts — and embed.test.mjs, which starts `chorus serve` and
#      the example host app (examples/embed) and embeds /p/{uid} in Chromium
#      and Firefox; and the admin console (/admin) in Chromium and Firefox.
# Screenshots land in tests/browser/artifacts/ (gitignored).
# CHORUS_BIN overrides the binary, CHORUS_CHROMIUM and CHORUS_FIREFOX the browsers.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[[ -z "${CHORUS_CHROMIUM:-}" && ! -x /usr/bin/chromium ]] && missing+=(chromium)
[[ -z "${CHORUS_FIREFOX:-}" && ! -x /usr/bin/firefox-esr ]] && missing+=(firefox-esr)
if (( ${#missing[@]} )); then
  echo "== installing Debian's ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y "${missing[@]}"
fi

echo "== installing the browser test drivers (playwright-core, puppeteer-core)"
(cd tests/browser && npm ci --no-audit --no-fund)

if [[ -z "${CHORUS_BIN:-}" ]]; then
  echo "== building chorus"
  cargo build --locked --bin chorus
  export CHORUS_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/chorus"
fi

echo "== browser tests (Chromium: desktop, phone, the other styles; Firefox: desktop; both: the embedded page, the admin console; in parallel)"
rm -rf tests/browser/artifacts
cd tests/browser
node --test --test-concurrency=5 desktop.test.mjs phone.test.mjs styles.test.mjs firefox.test.mjs embed.test.mjs \
  admin.test.mjs admin-firefox.test.mjs
echo "screenshots: tests/browser/artifacts/"
