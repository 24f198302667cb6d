// Headless Debian Firefox (firefox-esr), driven by puppeteer-core over
// WebDriver BiDi — Firefox's own remote protocol, so no geckodriver and no
// patched browser build. Playwright's Firefox driver needs its own Juggler
// build of Firefox, which Debian's package is not.
//
// flows.mjs and support.mjs are written against Playwright's page API; the
// page returned here wraps a puppeteer page in the small part of that API
// they use (see `playwrightPage`), so the very same flows run in Firefox.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { ARTIFACTS, WAIT } from './support.mjs';

/** The desktop viewport of the Chromium tests (support.mjs). */
const VIEWPORT = { width: 1280, height: 860, deviceScaleFactor: 1 };

/**
 * Headless Firefox at a desktop viewport, with a fresh profile that puppeteer
 * makes (with the remote agent's recommended prefs: no updates, telemetry or
 * first-run pages) and removes on close.
 */
export async function openFirefox() {
  const executablePath = process.env.CHORUS_FIREFOX || '/usr/bin/firefox-esr';
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath,
    headless: true,
    defaultViewport: VIEWPORT,
    timeout: WAIT,
  });
  const version = await browser.version();
  // Only a real Firefox counts: fail loudly if something else answered.
  if (!/^firefox\//i.test(version)) {
    await browser.close();
    throw new Error(`${executablePath} is not Firefox: it reports ${JSON.stringify(version)}`);
  }
  const problems = [];
  const watch = async (raw, prefix) => {
    // defaultViewport reaches only pages opened later, not the first tab.
    await raw.setViewport(VIEWPORT);
    raw.setDefaultTimeout(WAIT);
    raw.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    raw.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    const page = playwrightPage(raw);
    return { page, problems, shot: (name) => page.screenshot({ path: join(ARTIFACTS, `${prefix}-${name}.png`) }) };
  };
  await mkdir(ARTIFACTS, { recursive: true });
  const first = (await browser.pages())[0] || await browser.newPage();
  return {
    version,
    ...await watch(first, 'firefox-desktop'),
    /** Another tab in the same browser (screenshots named `firefox-desktop-${label}-…`). */
    async tab(label) { return watch(await browser.newPage(), `firefox-desktop-${label}`); },
    async close() { await browser.close(); },
  };
}

/**
 * The part of Playwright's `Page` that the shared flows use, on a puppeteer
 * page. Like Playwright's, locators wait for their element (attached before
 * reading it, visible and stable before clicking), and `first()` picks the
 * first match; unlike Playwright's, they are not strict about several matches.
 */
export function playwrightPage(p) {
  /** The first element matching `sel`, once it is in the document. */
  const attached = (sel) => p.waitForSelector(sel, { timeout: WAIT });
  const read = async (sel, fn, ...args) => {
    const handle = await attached(sel);
    try { return await handle.evaluate(fn, ...args); } finally { await handle.dispose(); }
  };
  const locator = (sel) => ({
    first: () => locator(sel),
    async waitFor({ state = 'visible', timeout = WAIT } = {}) {
      if (state === 'detached') {
        await p.waitForFunction((s) => !document.querySelector(s), { timeout }, sel);
        return;
      }
      const handle = await p.waitForSelector(sel, {
        timeout, visible: state === 'visible', hidden: state === 'hidden',
      });
      await handle?.dispose();
    },
    count: () => p.$$eval(sel, (els) => els.length),
    textContent: () => read(sel, (el) => el.textContent),
    getAttribute: (name) => read(sel, (el, n) => el.getAttribute(n), name),
    async boundingBox() {
      const handle = await attached(sel);
      try { return await handle.boundingBox(); } finally { await handle.dispose(); }
    },
    click: () => p.locator(sel).setTimeout(WAIT).click(),
    fill: (value) => p.locator(sel).setTimeout(WAIT).fill(value),
  });
  return {
    raw: p,
    goto: (url) => p.goto(url, { waitUntil: 'load', timeout: WAIT }),
    locator,
    click: (sel) => locator(sel).click(),
    fill: (sel, value) => locator(sel).fill(value),
    textContent: (sel) => locator(sel).textContent(),
    // Playwright: (fn, arg, options); puppeteer: (fn, options, ...args).
    waitForFunction: (fn, arg, { timeout = WAIT } = {}) => p.waitForFunction(fn, { timeout }, arg),
    // Both: (fn, arg).
    evaluate: (fn, arg) => p.evaluate(fn, arg),
    mouse: p.mouse,
    screenshot: (options) => p.screenshot(options),
  };
}
