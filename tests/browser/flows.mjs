// The two flows every viewport runs: a word prompt and a press prompt,
// taken through the page, asserting what a person would see.

import assert from 'node:assert/strict';
import { expectChart, expectRoomEvents, number, startPrompt, waitNumber, waitOwnInFlow, waitRemaining } from './support.mjs';

/** The word nobody in the demo's script picks before 12 s (see src/commands/demo/script.rs). */
const LATE_WORD = 4;

/** Takes the word prompt: picks a word, likes, watches the room, sees the chart. */
export async function takeWordPrompt(b, base) {
  const { page } = b;
  await startPrompt(b, base, 'word', 'Robin', () => b.shot('home'));
  const chip = page.locator(`#controls .chip[data-index="${LATE_WORD}"]`);
  const count = `#distribution .bar-row[data-index="${LATE_WORD}"] .count`;
  await waitNumber(page, '#answered', 'n > 0');
  assert.equal(await number(page, count), 0, 'nobody has picked this word yet');

  await chip.click();
  // The person's own answer moves the totals: the word now has one vote, theirs.
  await waitNumber(page, count, 'n >= 1');
  assert.equal(await chip.getAttribute('aria-pressed'), 'true');
  await page.locator(`#distribution .bar-row.mine[data-index="${LATE_WORD}"]`).waitFor();
  await waitOwnInFlow(page, 'word_prompt_response');

  const likes = await number(page, '#likes');
  await page.click('#like');
  await waitOwnInFlow(page, 'like');
  await waitNumber(page, '#likes', `n > ${likes}`);

  await expectRoomEvents(page);
  await waitRemaining(page, 15);
  await b.shot('word-during');
  await expectChart(page);
  assert.equal(await page.locator('#chart .mine-mark').count(), 1, 'the own answer is marked');
  await b.shot('word-after');
}

/** Takes the press prompt: holds the button, sees the room press with it, sees the chart. */
export async function takePressPrompt(b, base) {
  const { page } = b;
  await startPrompt(b, base, 'press', 'Sasha');
  const hold = page.locator('[data-testid="hold"]');
  assert.equal(await number(page, '#pressing'), 0, 'nobody presses in the first seconds');

  const box = await hold.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  // Holding shows up in the room: one person pressing now, one press so far.
  await waitNumber(page, '#pressing', 'n >= 1');
  await waitNumber(page, '#answered', 'n >= 1');
  assert.equal(await hold.textContent(), 'Holding');
  await waitOwnInFlow(page, 'press_prompt_start_response');
  await b.shot('press-holding');
  await page.mouse.up();
  await waitOwnInFlow(page, 'press_prompt_end_response');
  assert.equal(await hold.textContent(), 'Hold');

  await expectRoomEvents(page);
  // The crowd's swell: many people press at once later in the prompt.
  await waitNumber(page, '#pressing', 'n >= 20');
  await b.shot('press-during');
  await expectChart(page);
  await b.shot('press-after');
}
