// The admin console (/admin) in headless Firefox (WebDriver BiDi, see
// firefox.mjs) against its own `chorus demo` and its crowd: the same flows
// as admin.test.mjs.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from './support.mjs';
import { openFirefox } from './firefox.mjs';
import {
  createPrompts, deleteWatched, downloadCsv, expectListing, serverRefusals, signIn, unexpected, watchCrowd, watchOwn,
} from './admin-flows.mjs';

let demo;
let browser;

before(async () => {
  demo = await startDemo(['--crowd', '8']);
  // No skipping: if Firefox cannot be started and driven, this test fails.
  browser = await openFirefox();
});

after(async () => {
  await browser?.close();
  demo?.stop();
});

test('firefox: the admin console signs in, creates, watches, downloads and deletes', { timeout: 240_000 }, async () => {
  assert.match(browser.version, /^firefox\//i);
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
