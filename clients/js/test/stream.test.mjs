// The live stream through the package: replay merged with near-live at the
// viewer's prompt time, a re-sync when the clock jumps, the async
// iterator, and the end of the prompt.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINE, allEvents, clientFor, createPrompt, eventually, newSub, startCluster } from './support.mjs';
import { startClock } from '../src/index.js';

let cluster;
before(async () => { cluster = await startCluster(); });
after(async () => { await cluster.close(); });

/** Records what a watcher delivers, with the viewer's clock at delivery. */
function record(watcher) {
  const seen = [];
  watcher.on('events', (events) => {
    const at = watcher.clock();
    for (const e of events) seen.push({ ...e, at });
  });
  return seen;
}

/** Several people took the prompt before: their events at times spread over it. */
async function history(bases, uid, people, duration) {
  await Promise.all(Array.from({ length: people }, async (_, k) => {
    const s = await clientFor(bases, newSub('history')).startSession(uid);
    const posts = [s.join(0.2 + k * 0.1)];
    for (let t = 1 + k * 0.37; t < duration - 1; t += 1.3) posts.push(s.respond(t, 1 + (k % 10)));
    posts.push(s.leave(duration - 0.5));
    await Promise.all(posts);
  }));
}

test(`a watch merges replayed history with near-live events, each once, at the viewer's prompt time (${ENGINE})`, async () => {
  const duration = 8;
  const uid = await createPrompt(cluster.bases[0], 'numeric', duration);
  await history(cluster.bases, uid, 4, duration);
  // The viewer watches from the last server; a live participant posts
  // through the first, on the viewer's clock, while it watches.
  const viewer = await clientFor([...cluster.bases].reverse(), newSub('viewer')).startSession(uid);
  const live = await clientFor(cluster.bases, newSub('live')).startSession(uid);
  const clock = startClock(0);
  const watcher = viewer.watch({ clock, bandwidth: 5000, lookback: 1.5, lookahead: 1.5 });
  const seen = record(watcher);
  await eventually(() => watcher.stats.state === 'open', 10_000, 'the handshake');
  await live.join(clock());
  const posted = [];
  while (clock() < duration - 1) {
    await new Promise((r) => setTimeout(r, 400));
    posted.push(await live.like(clock()));
  }
  await live.leave(Math.min(duration, clock()));
  await eventually(() => clock() > duration + 0.5, 15_000, 'the end of the prompt');
  watcher.stop();

  const stored = await allEvents(viewer);
  const uids = seen.map((e) => e.uid);
  assert.equal(new Set(uids).size, uids.length, 'nothing delivered twice');
  assert.deepEqual([...uids].sort(), stored.map((e) => e.uid).sort(), 'every stored event delivered (no thinning at this bandwidth)');
  for (const e of seen) assert.ok(e.at >= e.prompt_time, `${e.evtype} at ${e.prompt_time} delivered early, at ${e.at}`);
  const historyUids = new Set(stored.filter((e) => e.session_uid !== live.sessionUid).map((e) => e.uid));
  assert.ok([...historyUids].every((u) => uids.includes(u)), 'the history arrived as replay');
  assert.ok(posted.every((e) => uids.includes(e.uid)), 'the live likes arrived near-live');
  const order = seen.map((e) => [e.prompt_time, e.uid]);
  for (let i = 1; i < order.length; i++) assert.ok(order[i - 1][0] <= order[i][0] + 1e-9 || seen[i].at > seen[i].prompt_time, 'delivered in prompt-time order');
  assert.equal(watcher.stats.connections, 1);
  assert.deepEqual(await watcher.finished, { reason: 'stopped' });
});

test(`a clock that jumps makes the watch re-sync on a fresh connection, without duplicates (${ENGINE})`, async () => {
  const duration = 20;
  const uid = await createPrompt(cluster.bases[0], 'word', duration);
  const viewer = await clientFor(cluster.bases, newSub('jumper')).startSession(uid);
  const others = await clientFor(cluster.bases, newSub('other')).startSession(uid);
  await others.join(0);
  for (let t = 1; t < duration; t += 0.5) await others.respondWord(t, Math.floor(t) % 3);
  let offset = 0;
  const base = startClock(0);
  const clock = () => base() + offset;
  const watcher = viewer.watch({ clock, bandwidth: 5000, lookahead: 1, maxDrift: 0.5, minResyncSeconds: 1 });
  const statuses = [];
  let resyncedAt = null;
  watcher.on('status', (s) => {
    statuses.push(s.state);
    if (s.state === 'open' && s.resyncs >= 1 && resyncedAt === null) resyncedAt = clock();
  });
  const seen = record(watcher);
  await eventually(() => watcher.stats.state === 'open', 10_000, 'the handshake');
  await new Promise((r) => setTimeout(r, 500));
  const jumpedAt = clock();
  offset = 4; // the app seeks ahead: the server's idea of our clock is now 4 s behind
  await eventually(() => watcher.stats.resyncs >= 1 && statuses.at(-1) === 'open', 10_000, 'a re-sync');
  assert.ok(watcher.stats.connections >= 2);
  await eventually(() => clock() > 12, 15_000, 'prompt time 12');
  watcher.stop();
  const uids = seen.map((e) => e.uid);
  assert.equal(new Set(uids).size, uids.length, 'nothing delivered twice across the connections');
  // What lies before the jump came on the first connection; what lies
  // ahead of the clock when the re-sync's connection opened, on it. (The
  // moments skipped over in between are behind the viewer: not replayed.)
  const stored = await allEvents(viewer);
  const expected = stored.filter((e) => e.prompt_time <= jumpedAt || (e.prompt_time >= resyncedAt && e.prompt_time <= 11.5));
  assert.ok(expected.length > 10);
  for (const e of expected) assert.ok(uids.includes(e.uid), `the event at ${e.prompt_time} delivered (jumped at ${jumpedAt}, re-synced at ${resyncedAt})`);
});

test(`the async iterator yields events in order and ends with the prompt (${ENGINE})`, async () => {
  const duration = 3;
  const uid = await createPrompt(cluster.bases[0], 'color', duration);
  const first = await clientFor(cluster.bases, newSub('early')).startSession(uid);
  await first.join(0);
  await first.respondColor(2.5, 1);
  await first.leave(3);
  const viewer = await clientFor(cluster.bases, newSub('iter')).startSession(uid);
  // Starting at 2 with no lookback, the server ends the stream once the
  // viewer's clock passes duration + 10.
  const watcher = viewer.watch({ clock: startClock(2), lookback: 0, lookahead: 1, bandwidth: 100 });
  const got = [];
  for await (const e of watcher) got.push([e.evtype, e.prompt_time]);
  assert.deepEqual(got, [['color_prompt_response', 2.5], ['leave', 3]], 'what lies ahead of the viewer, in order');
  assert.deepEqual(await watcher.finished, { reason: 'ended' });
});

test(`a watch delivers the session's own events from their 201s, and drops the stream's copies (${ENGINE})`, async () => {
  const uid = await createPrompt(cluster.bases[0], 'press', 10);
  const s = await clientFor(cluster.bases, newSub('own')).startSession(uid);
  const clock = startClock(0);
  const watcher = s.watch({ clock, bandwidth: 1, replay: false });
  const seen = record(watcher);
  const joined = await s.join(0);
  assert.equal(seen[0]?.uid, joined.uid, 'delivered as soon as stored');
  await eventually(() => watcher.stats.state === 'open', 10_000, 'the handshake');
  const pressed = await s.pressStart(clock());
  await eventually(() => seen.some((e) => e.uid === pressed.uid), 5000, 'the own press');
  await new Promise((r) => setTimeout(r, 600));
  watcher.stop();
  assert.equal(new Set(seen.map((e) => e.uid)).size, seen.length);
  assert.equal(watcher.stats.delivered, seen.length);
});
