// The web client at a desktop viewport, against its own `chorus demo`.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, startDemo } from './support.mjs';
import { takePressPrompt, takeWordPrompt } from './flows.mjs';

let demo;
let browser;

before(async () => {
  // A larger crowd than the default, so that some of it is always ahead of the test's clock.
  demo = await startDemo(['--crowd', '8']);
  browser = await openBrowser('desktop');
});

after(async () => {
  await browser?.close();
  demo?.stop();
});

test('desktop: a person takes the word prompt and sees the room answer with them', { timeout: 120_000 }, async () => {
  await takeWordPrompt(browser, demo.base);
  assert.deepEqual(browser.problems, []);
});

test('desktop: a person holds the press prompt and sees the room press with them', { timeout: 120_000 }, async () => {
  await takePressPrompt(browser, demo.base);
  assert.deepEqual(browser.problems, []);
});
