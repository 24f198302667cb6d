// The admin console (/admin) in headless Firefox (WebDriver BiDi, see
// firefox.mjs) against its own `chorus demo` and its crowd: the same flows
// as admin.test.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoAndBrowser } from './support.mjs';
import { openFirefox } from './firefox.mjs';
import { adminConsole } from './admin-flows.mjs';

// No skipping: if Firefox cannot be started and driven, this test fails.
const ctx = demoAndBrowser(['--crowd', '8'], openFirefox);

test('firefox: the admin console signs in, creates, manages named prompts, watches, downloads and deletes', { timeout: 300_000 }, async () => {
  assert.match(ctx.browser.version, /^firefox\//i);
  await adminConsole(ctx.browser, ctx.demo);
});
