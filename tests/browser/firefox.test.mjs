// The web client in headless Firefox (Debian's firefox-esr) at a desktop
// viewport, against its own `chorus demo`: the same word and press flows as
// desktop.test.mjs, driven over WebDriver BiDi (see firefox.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from './support.mjs';
import { openFirefox } from './firefox.mjs';
import { takePressPrompt, takeWordPrompt } from './flows.mjs';

let demo;
let browser;

before(async () => {
  demo = await startDemo(['--crowd', '8']);
  // No skipping: if Firefox cannot be started and driven, these tests fail.
  browser = await openFirefox();
});

after(async () => {
  await browser?.close();
  demo?.stop();
});

test('firefox: a person takes the word prompt and sees the room answer with them', { timeout: 120_000 }, async () => {
  assert.match(browser.version, /^firefox\//i);
  await takeWordPrompt(browser, demo.base);
  assert.deepEqual(browser.problems, []);
});

test('firefox: a person holds the press prompt and sees the room press with them', { timeout: 120_000 }, async () => {
  await takePressPrompt(browser, demo.base);
  assert.deepEqual(browser.problems, []);
});
