// A watch outliving its prompt token: the server closes the stream with
// 4401 when the token expires (docs/stream-protocol.md, Endings). Without
// `renewToken` the watch fails with PromptTokenExpiredError; with it, the
// watch reconnects with the fresh token and carries on. The servers here
// mint prompt tokens that last 1 s (+ 5 s of leeway).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINE, clientFor, createPrompt, eventually, newSub, startCluster } from './support.mjs';
import { PromptTokenExpiredError } from '../src/index.js';

let cluster;
before(async () => { cluster = await startCluster({ extra: ['--prompt-token-seconds', '1'] }); });
after(async () => { await cluster.close(); });

test(`an expired prompt token fails the watch with PromptTokenExpiredError (${ENGINE})`, async () => {
  const uid = await createPrompt(cluster.bases[0], 'numeric', 120);
  const session = await clientFor(cluster.bases, newSub('short')).startSession(uid);
  const watcher = session.watch({ bandwidth: 10 });
  await eventually(() => watcher.stats.state === 'open', 10_000, 'the handshake');
  const end = await watcher.finished;
  assert.equal(end.reason, 'failed');
  assert.ok(end.error instanceof PromptTokenExpiredError, String(end.error));
  assert.equal(end.error.type, 'prompt_token_expired');
  assert.equal(watcher.stats.state, 'failed');
});

test(`with renewToken, the watch reconnects with a fresh token and goes on (${ENGINE})`, async () => {
  const uid = await createPrompt(cluster.bases[0], 'numeric', 120);
  const client = clientFor(cluster.bases, newSub('renewing'));
  const session = await client.startSession(uid);
  const renewals = [];
  const watcher = session.watch({
    bandwidth: 10,
    renewToken: async () => {
      const fresh = await client.startSession(uid);
      renewals.push(fresh.promptToken);
      return fresh.promptToken;
    },
  });
  const statuses = [];
  watcher.on('status', (s) => statuses.push(s));
  await eventually(() => renewals.length >= 1 && watcher.stats.state === 'open', 20_000, 'a renewal');
  assert.ok(watcher.stats.connections >= 2, 'a second connection, with the fresh token');
  const renewing = statuses.find((s) => s.state === 'reconnecting');
  assert.ok(renewing?.error instanceof PromptTokenExpiredError, 'the reconnect says why');
  // Events posted with the fresh session's token still reach the watch.
  const poster = await client.startSession(uid);
  const joined = await poster.join(watcher.clock());
  await eventually(() => watcher.stats.delivered >= 1, 10_000, `the event ${joined.uid}`);
  watcher.stop();
  assert.deepEqual(await watcher.finished, { reason: 'stopped' });
});
