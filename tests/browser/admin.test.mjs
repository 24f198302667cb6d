// The admin console (/admin) in headless Chromium against its own
// `chorus demo` and its crowd: the flows of admin-flows.mjs.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, startDemo } from './support.mjs';
import {
  createPrompts, deleteWatched, downloadCsv, expectListing, serverRefusals, signIn, unexpected, watchCrowd, watchOwn,
} from './admin-flows.mjs';

let demo;
let browser;

before(async () => {
  demo = await startDemo(['--crowd', '8']);
  browser = await openBrowser('desktop');
});

after(async () => {
  await browser?.close();
  demo?.stop();
});

test('chromium: the admin console signs in, creates, watches, downloads and deletes', { timeout: 240_000 }, async () => {
  const b = await browser.tab('admin');
  await signIn(b, demo);
  await expectListing(b, demo);
  const uids = await createPrompts(b);
  await serverRefusals(b);
  await watchCrowd(b, demo);
  await watchOwn(b, demo, uids.numeric);
  await downloadCsv(b, demo, uids.numeric);
  await deleteWatched(b, demo, uids.numeric);
  assert.deepEqual(unexpected(browser.problems), []);
});
