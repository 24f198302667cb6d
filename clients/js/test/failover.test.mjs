// The server process a watcher is connected to is killed (kill -9): the
// watcher carries on through the other process (PostgreSQL + Redis) or
// the restarted one (SQLite), with nothing delivered twice and every
// event still ahead of it delivered; the poster's events are retried
// through the same outage and stored once each.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINE, allEvents, clientFor, createPrompt, eventually, newSub, startCluster } from './support.mjs';
import { startClock } from '../src/index.js';

let cluster;
before(async () => { cluster = await startCluster(); });
after(async () => { await cluster.close(); });

test(`a watcher whose server is killed carries on elsewhere: nothing twice, everything still ahead delivered (${ENGINE})`, async () => {
  const duration = 16;
  const uid = await createPrompt(cluster.bases[0], 'numeric', duration);
  // History spread over the whole prompt.
  await Promise.all([0, 1, 2].map(async (k) => {
    const s = await clientFor(cluster.bases, newSub('before')).startSession(uid);
    await s.join(0);
    for (let t = 0.5 + k * 0.3; t < duration; t += 0.9) await s.respond(t, 1 + k);
  }));

  // Both clients list the first process first: that is the one killed.
  const viewer = await clientFor(cluster.bases, newSub('viewer')).startSession(uid);
  const poster = await clientFor(cluster.bases, newSub('poster'), { retry: { attempts: 20, maxDelayMs: 1000 } }).startSession(uid);
  const clock = startClock(0);
  const watcher = viewer.watch({ clock, bandwidth: 5000, lookback: 1.5, lookahead: 1.5 });
  const seen = [];
  watcher.on('events', (events) => { for (const e of events) seen.push({ ...e, at: clock() }); });
  const opened = [];
  watcher.on('status', (s) => { if (s.state === 'open') opened.push(clock()); });
  await eventually(() => opened.length === 1, 10_000, 'the handshake');

  // Someone ahead of the viewer posts, 3 s ahead of its clock, all along.
  await poster.join(clock() + 3);
  const posting = (async () => {
    const results = [];
    while (clock() < duration - 4) {
      results.push(poster.like(clock() + 3));
      await new Promise((r) => setTimeout(r, 200));
    }
    return Promise.all(results);
  })();

  await eventually(() => clock() > 4, 10_000, 'prompt time 4');
  const killedAt = clock();
  await cluster.servers[0].kill('SIGKILL');
  if (cluster.servers.length === 1) {
    await new Promise((r) => setTimeout(r, 700));
    await cluster.restart(0);
  }
  await eventually(() => opened.length === 2, 20_000, 'the watcher back on a server');
  const reconnectedAt = opened[1];
  const liked = await posting;
  await eventually(() => clock() > duration + 0.3, 30_000, 'the end of the prompt');
  watcher.stop();

  const uids = seen.map((e) => e.uid);
  assert.equal(new Set(uids).size, uids.length, 'nothing delivered twice');
  const stored = await allEvents(viewer);
  const storedUids = new Set(stored.map((e) => e.uid));
  assert.ok(uids.every((u) => storedUids.has(u)), 'only stored events delivered');
  const ahead = stored.filter((e) => e.prompt_time >= reconnectedAt);
  assert.ok(ahead.length > 10);
  for (const e of ahead) assert.ok(uids.includes(e.uid), `the event at ${e.prompt_time}, ahead when the watcher was back (${reconnectedAt}), delivered`);
  const before = stored.filter((e) => e.prompt_time < killedAt - 1);
  for (const e of before) assert.ok(uids.includes(e.uid), `the event at ${e.prompt_time}, before the kill (${killedAt}), delivered`);
  for (const e of seen) assert.ok(e.at >= e.prompt_time, 'never before its time');

  // The poster's likes went through the outage: each stored once.
  const likes = stored.filter((e) => e.session_uid === poster.sessionUid && e.evtype === 'like');
  assert.equal(likes.length, liked.length, 'every like stored, once');
  assert.deepEqual(likes.map((e) => e.uid).sort(), liked.map((e) => e.uid).sort());
  assert.ok(watcher.stats.reconnects >= 1);
});
