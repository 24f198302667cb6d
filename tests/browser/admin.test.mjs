// The admin console (/admin) in headless Chromium against its own
// `chorus demo` and its crowd: the flows of admin-flows.mjs.

import { test } from 'node:test';
import { demoAndBrowser, openBrowser } from './support.mjs';
import { adminConsole } from './admin-flows.mjs';

const ctx = demoAndBrowser(['--crowd', '8'], () => openBrowser('desktop'));

test('chromium: the admin console signs in, creates, manages named prompts, watches, downloads and deletes', { timeout: 300_000 }, async () => {
  await adminConsole(ctx.browser, ctx.demo);
});
