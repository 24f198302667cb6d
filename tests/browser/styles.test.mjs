// The other two styles at a desktop viewport, taken side by side in two
// tabs: the 1–10 scale and the colour swatches.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoAndBrowser, expectChart, expectRoomEvents, openBrowser, startPrompt, waitNumber, waitOwnInFlow } from './support.mjs';

const ctx = demoAndBrowser(['--crowd', '8'], () => openBrowser('desktop'));

/** Takes a prompt of `style`, picking option `index`; checks the room counts it. */
async function takeChoice(b, style, index) {
  const { page } = b;
  await startPrompt(b, ctx.demo.base, style, `Kim ${style}`);
  const control = page.locator(`#controls [data-index="${index}"]`);
  const cell = `#distribution [data-index="${index}"]`;
  await control.click();
  assert.equal(await control.getAttribute('aria-pressed'), 'true');
  await page.locator(`${cell}.mine`).waitFor();
  await waitNumber(page, `${cell} .count`, 'n >= 1');
  await waitOwnInFlow(page, `${style}_prompt_response`);
  await expectRoomEvents(page);
  await b.shot('during');
  await expectChart(page);
  assert.equal(await page.locator('#chart .mine-mark').count(), 1, 'the own answer is marked');
  await b.shot('after');
}

test('desktop: the numeric scale and the colour swatches, taken side by side', { timeout: 150_000 }, async () => {
  const numeric = await ctx.browser.tab('numeric');
  const color = await ctx.browser.tab('color');
  // A rare rating early on (the scale starts low) and the last colour.
  await Promise.all([takeChoice(numeric, 'numeric', 9), takeChoice(color, 'color', 5)]);
  assert.equal(await numeric.page.textContent('#distribution .col.mine .name'), '10');
  assert.deepEqual(ctx.browser.problems, []);
});
