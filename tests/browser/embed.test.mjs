// The participant page of real deployments, embedded by a host app on
// another origin (embed.mjs), in headless Chromium and Firefox: tokens by
// postMessage from the allowed origin only, a fresh token asked for when
// one has expired, `chorus:finished` at the end, `#token=…` standalone, and
// faces in the room (a picture from the token's claim, initials without).

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './support.mjs';
import { openFirefox } from './firefox.mjs';
import {
  aTokenInTheFragmentIsTakenAndRemoved, anExpiredTokenIsReplaced, facesInTheRoom, foreignAndMalformedMessagesAreIgnored,
  hostTakesPromptToTheEnd, startEmbedding,
} from './embed.mjs';

let e;
before(async () => { e = await startEmbedding(); });
after(async () => { await e?.stop(); });

for (const [name, open] of [['chromium', () => openBrowser('embed')], ['firefox', openFirefox]]) {
  describe(name, () => {
    let b;
    before(async () => { b = await open(); });
    after(async () => { await b?.close(); });
    beforeEach(() => { if (b) b.problems.length = 0; });

    test(`${name}: a host page on another origin hands over an RS256 token; the prompt is taken to the end and the host hears chorus:finished`,
      { timeout: 120_000 }, async () => {
        await hostTakesPromptToTheEnd(b, e);
        assert.deepEqual(b.problems, []);
      });

    test(`${name}: token messages from a foreign origin, and malformed ones, are ignored`, { timeout: 120_000 }, async () => {
      await foreignAndMalformedMessagesAreIgnored(b, e);
      assert.deepEqual(b.problems, []);
    });

    test(`${name}: an expired token makes the page ask for a fresh one (chorus:token-needed), and it carries on`,
      { timeout: 120_000 }, async () => {
        await anExpiredTokenIsReplaced(b, e);
        // Chromium logs the refused start_session as a failed load.
        assert.deepEqual(b.problems.filter((p) => !p.includes('status of 403 (Forbidden)')), []);
      });

    test(`${name}: standalone, a #token=… is taken and removed from the address bar`, { timeout: 120_000 }, async () => {
      await aTokenInTheFragmentIsTakenAndRemoved(b, e);
      assert.deepEqual(b.problems, []);
    });

    test(`${name}: faces in the room — a user's picture (from the token's picture claim), another's initials`,
      { timeout: 120_000 }, async () => {
        await facesInTheRoom(b, e);
        assert.deepEqual(b.problems, []);
      });
  });
}
