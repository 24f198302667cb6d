// Events fired without awaiting arrive in order, none lost, none doubled —
// even past the server's per-session rate limit (429 with Retry-After).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINE, allEvents, clientFor, createPrompt, newSub, startCluster } from './support.mjs';

let cluster;
// A low per-session rate (5 events/s) makes the server answer 429s with
// Retry-After whatever the engine's speed.
before(async () => { cluster = await startCluster({ extra: ['--session-event-rate', '5'] }); });
after(async () => { await cluster.close(); });

test(`many events fired at once by several sessions are stored in order, each once (${ENGINE})`, async () => {
  const uid = await createPrompt(cluster.bases[0], 'numeric', 60);
  const statuses = [];
  // Counts what the server answered, to show the rate limit was reached.
  const countingFetch = async (url, init) => {
    const response = await fetch(url, init);
    statuses.push(response.status);
    return response;
  };
  const sessions = await Promise.all([0, 1, 2].map(() => clientFor(cluster.bases, newSub('order'), { fetch: countingFetch }).startSession(uid)));
  const plans = sessions.map((s, k) => {
    const plan = [['join', 0, null]];
    for (let i = 1; i <= 40; i++) {
      const t = i + k / 10;
      plan.push(i % 5 === 0 ? ['like', t, null] : ['numeric_prompt_response', t, 1 + ((i * 7 + k) % 10)]);
    }
    plan.push(['leave', 60, null]);
    return plan;
  });
  // Fire everything now, awaiting nothing; collect the promises.
  const promises = sessions.map((s, k) => plans[k].map(([type, t, rating]) => {
    if (type === 'join') return s.join(t);
    if (type === 'leave') return s.leave(t);
    if (type === 'like') return s.like(t);
    return s.respond(t, rating);
  }));
  assert.ok(sessions.every((s) => s.pending === 42), 'all queued');
  const results = await Promise.all(promises.map((p) => Promise.all(p)));
  await Promise.all(sessions.map((s) => s.idle()));
  assert.ok(sessions.every((s) => s.pending === 0));
  assert.ok(statuses.includes(429), 'the rate limit was reached and retried');

  const stored = await allEvents(sessions[0]);
  assert.equal(stored.length, 3 * 42, 'none lost, none doubled');
  sessions.forEach((s, k) => {
    const mine = stored.filter((e) => e.session_uid === s.sessionUid);
    assert.deepEqual(mine.map((e) => [e.evtype, e.prompt_time, e.data.rating ?? null]), plans[k], 'stored as planned, in order');
    assert.deepEqual(mine.map((e) => e.uid), results[k].map((e) => e.uid), 'each promise resolved to its stored event');
    // Stored in the order posted: creation times never go back.
    const created = mine.map((e) => e.created_at);
    assert.deepEqual(created, [...created].sort((a, b) => a - b));
  });
});
