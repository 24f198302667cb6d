// Shared helpers of the browser tests: start `chorus demo`, open headless
// Chromium, and take prompts through the page the way a person would.

import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

/** Where screenshots go (gitignored). */
export const ARTIFACTS = process.env.CHORUS_BROWSER_ARTIFACTS || join(here, 'artifacts');

/** Generous limit for one wait; prompts last 30 s. */
export const WAIT = 45_000;

/** Starts `chorus demo` on a free port; resolves to `{base, adminToken, stop()}`. */
export async function startDemo(extra = []) {
  const bin = process.env.CHORUS_BIN || join(root, 'target', 'debug', 'chorus');
  const child = spawn(bin, ['demo', '--listen', '127.0.0.1:0', ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  const lines = createInterface({ input: child.stdout });
  // The banner's lines come in one write, so in one tick: gather them as they come.
  const banner = await new Promise((ok, fail) => {
    const got = [];
    child.once('exit', (code) => fail(new Error(`chorus demo exited with ${code} before listening`)));
    // (The listener stays, draining stdout.)
    lines.on('line', (line) => { if (got.push(line) === 2) ok(got); });
  });
  const [first, second] = banner;
  const match = /^chorus listening on (http:\/\/\S+)$/.exec(first);
  assert.ok(match, `unexpected first line ${JSON.stringify(first)}`);
  const token = /^dev mode: admin token (\S+)$/.exec(second);
  assert.ok(token, `unexpected second line ${JSON.stringify(second)}`);
  // Never leave a server behind, even if the test process dies.
  process.on('exit', () => child.kill('SIGKILL'));
  return {
    base: match[1],
    adminToken: token[1],
    stop() { child.kill('SIGTERM'); },
  };
}

/**
 * The set-up of a test file: before its tests, a `chorus demo` started
 * with `args` and a browser opened by `open()`; after them, both closed.
 * → `{demo, browser}`, filled in once the file's `before` hooks have run.
 */
export function demoAndBrowser(args, open) {
  const ctx = { demo: null, browser: null };
  before(async () => {
    ctx.demo = await startDemo(args);
    ctx.browser = await open();
  });
  after(async () => {
    await ctx.browser?.close();
    ctx.demo?.stop();
  });
  return ctx;
}

/** Headless Debian Chromium with a fresh profile, at a desktop or phone viewport. */
export async function openBrowser(kind) {
  const profile = await mkdtemp(join(tmpdir(), 'chorus-chromium-'));
  const device = kind === 'phone'
    ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
    : { viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 };
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHORUS_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ...device,
  });
  context.setDefaultTimeout(WAIT);
  const problems = [];
  const watch = (page, prefix) => {
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    return { page, problems, shot: (name) => page.screenshot({ path: join(ARTIFACTS, `${prefix}-${name}.png`) }) };
  };
  await mkdir(ARTIFACTS, { recursive: true });
  return {
    ...watch(context.pages()[0] || await context.newPage(), kind),
    /** Another tab in the same browser (screenshots named `${kind}-${label}-…`). */
    async tab(label) { return watch(await context.newPage(), `${kind}-${label}`); },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

const number = (page, selector) => page.locator(selector).first().textContent().then((t) => Number(t));

/** Waits until the number shown by `selector` satisfies `ok`. */
export function waitNumber(page, selector, ok) {
  return page.waitForFunction(
    ([sel, src]) => {
      const el = document.querySelector(sel);
      return el && new Function('n', `return ${src}`)(Number(el.textContent));
    },
    [selector, ok],
    { timeout: WAIT },
  );
}

/** Waits until the countdown shows at most `seconds` left. */
export function waitRemaining(page, seconds) {
  return page.waitForFunction((s) => {
    const [m, ss] = document.querySelector('#remaining').textContent.split(':').map(Number);
    return m * 60 + ss <= s;
  }, seconds, { timeout: WAIT });
}

/** Opens the list and starts the prompt of `style`; waits until the controls are live. */
export async function startPrompt(b, base, style, name, onList = async () => {}) {
  const { page } = b;
  await page.goto(base);
  await page.locator(`.prompt-card[data-style="${style}"]`).waitFor();
  assert.equal(await page.locator('.prompt-card').count(), 4, 'the four demo prompts are listed');
  await onList();
  await page.fill('#name', name);
  await page.click(`.prompt-card[data-style="${style}"]`);
  await page.locator('#take').waitFor({ state: 'visible' });
  await page.locator('#controls button:not([disabled])').first().waitFor();
  // The totals of the recorded history arrive: hundreds of people are here.
  await waitNumber(page, '#users', 'n >= 100');
  assert.match(await page.textContent('#remaining'), /^0:[0-5]\d$/);
  await recordOwnFlow(page);
}

/**
 * Records, from now on, the type of each of the participant's own events
 * the page adds to its flow. The flow holds the newest 30 rows; when the
 * machine stalls the page for a while, one frame can add more than that,
 * and an own row then leaves in the same frame it came in, so polling for
 * a visible row would miss what the page did show.
 */
function recordOwnFlow(page) {
  return page.waitForFunction(() => {
    if (!window.ownInFlow) {
      window.ownInFlow = new Set();
      new MutationObserver((records) => {
        for (const r of records) {
          for (const n of r.addedNodes) {
            if (n.classList && n.classList.contains('me')) window.ownInFlow.add(n.dataset.evtype);
          }
        }
      }).observe(document.querySelector('#flow'), { childList: true });
    }
    return true;
  }, undefined, { timeout: WAIT });
}

/** Waits until the page has shown one of the participant's own `evtype` events in its flow. */
export function waitOwnInFlow(page, evtype) {
  return page.waitForFunction((t) => window.ownInFlow && window.ownInFlow.has(t), evtype, { timeout: WAIT });
}

/** Events from the live crowd and from the recorded history appear in the flow. */
export async function expectRoomEvents(page) {
  await page.locator('#flow li[data-sub^="demo-crowd-"]').first().waitFor();
  await page.locator('#flow li[data-sub^="demo-history-"]').first().waitFor();
}

/** Waits for the end; the chart of the whole prompt is drawn, with the own answers marked. */
export async function expectChart(page) {
  await page.locator('#after').waitFor({ state: 'visible', timeout: 60_000 });
  await page.locator('#chart svg path.area').first().waitFor();
  await page.locator('#chart svg[data-revealed="true"]').waitFor();
  assert.ok(await page.locator('#chart svg rect').count() > 5, 'the likes strip is drawn');
  assert.equal(await page.textContent('#status'), 'Done. Thank you!');
}

export { number };
