// The web client in headless Firefox (Debian's firefox-esr) at a desktop
// viewport, against its own `chorus demo`: the same word and press flows as
// desktop.test.mjs, driven over WebDriver BiDi (see firefox.mjs).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoAndBrowser } from './support.mjs';
import { openFirefox } from './firefox.mjs';
import { takePressPrompt, takeWordPrompt } from './flows.mjs';

// No skipping: if Firefox cannot be started and driven, these tests fail.
const ctx = demoAndBrowser(['--crowd', '8'], openFirefox);

test('firefox: a person takes the word prompt and sees the room answer with them', { timeout: 120_000 }, async () => {
  assert.match(ctx.browser.version, /^firefox\//i);
  await takeWordPrompt(ctx.browser, ctx.demo.base);
  assert.deepEqual(ctx.browser.problems, []);
});

test('firefox: a person holds the press prompt and sees the room press with them', { timeout: 120_000 }, async () => {
  await takePressPrompt(ctx.browser, ctx.demo.base);
  assert.deepEqual(ctx.browser.problems, []);
});
