// The web client at a phone viewport, against its own `chorus demo`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoAndBrowser, openBrowser } from './support.mjs';
import { takePressPrompt, takeWordPrompt } from './flows.mjs';

// A larger crowd than the default, so that some of it is always ahead of the test's clock.
const ctx = demoAndBrowser(['--crowd', '8'], () => openBrowser('phone'));

test('phone: a person takes the word prompt and sees the room answer with them', { timeout: 120_000 }, async () => {
  await takeWordPrompt(ctx.browser, ctx.demo.base);
  assert.deepEqual(ctx.browser.problems, []);
});

test('phone: a person holds the press prompt and sees the room press with them', { timeout: 120_000 }, async () => {
  await takePressPrompt(ctx.browser, ctx.demo.base);
  assert.deepEqual(ctx.browser.problems, []);
});
