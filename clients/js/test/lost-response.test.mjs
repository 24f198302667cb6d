// A lost response: a TCP proxy between the package and the server
// forwards an event's POST, lets the server store it, and then closes the
// client's side instead of forwarding the answer. The package retries; the
// retry's 409 shows the first try was stored, so the call resolves to that
// stored event — stored exactly once.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ENGINE, allEvents, clientFor, createPrompt, newSub, startCluster } from './support.mjs';

const EVENT_POST = 'POST /api/1/interactive_prompts/events/';

/**
 * A proxy to `target` (an http://host:port URL). `drop('response')` makes
 * the next event POST reach the server but lose its answer;
 * `drop('request')` makes it go nowhere.
 */
async function startProxy(target) {
  const { hostname, port } = new URL(target);
  let armed = null;
  const stats = { dropped: 0, eventPosts: 0 };
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client); sockets.add(upstream);
    let loseAnswer = false;
    const cut = () => { client.destroy(); upstream.destroy(); };
    client.on('data', (chunk) => {
      if (chunk.includes(EVENT_POST)) {
        stats.eventPosts++;
        if (armed === 'request') { armed = null; stats.dropped++; cut(); return; }
        if (armed === 'response') { armed = null; loseAnswer = true; }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (loseAnswer) { stats.dropped++; cut(); return; }
      client.write(chunk);
    });
    for (const s of [client, upstream]) {
      s.on('error', cut);
      s.on('close', () => { sockets.delete(s); cut(); });
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stats,
    drop(what) { armed = what; },
    close() { for (const s of sockets) s.destroy(); server.close(); },
  };
}

let cluster;
let proxy;
before(async () => {
  cluster = await startCluster();
  proxy = await startProxy(cluster.bases[0]);
});
after(async () => {
  proxy.close();
  await cluster.close();
});

/** The session's stored events of `evtype` at `t`. */
async function storedAt(session, evtype, t) {
  const all = await allEvents(session);
  return all.filter((e) => e.session_uid === session.sessionUid && e.evtype === evtype && e.prompt_time === t);
}

test(`an event whose answer is lost is retried and stored exactly once: join, response, like, leave (${ENGINE})`, async () => {
  const uid = await createPrompt(cluster.bases[0], 'numeric', 30);
  const session = await clientFor([proxy.url], newSub('lossy')).startSession(uid);
  const cases = [
    ['join', 0, () => session.join(0)], // the retry meets rule 4: already started
    ['numeric_prompt_response', 1.5, () => session.respond(1.5, 7)], // rule 7
    ['like', 2, () => session.like(2)], // rule 7
    ['leave', 3, () => session.leave(3)], // rule 5: already ended
  ];
  for (const [evtype, t, post] of cases) {
    const dropped = proxy.stats.dropped;
    const posts = proxy.stats.eventPosts;
    proxy.drop('response');
    const event = await post();
    assert.equal(proxy.stats.dropped, dropped + 1, `the ${evtype}'s answer was lost`);
    assert.ok(proxy.stats.eventPosts >= posts + 2, `the ${evtype} was sent again`);
    const stored = await storedAt(session, evtype, t);
    assert.equal(stored.length, 1, `one ${evtype} stored`);
    assert.equal(event.uid, stored[0].uid, 'the call resolved to the stored event');
    assert.equal(event.evtype, evtype);
    assert.equal(event.session_uid, session.sessionUid);
  }
  const all = (await allEvents(session)).filter((e) => e.session_uid === session.sessionUid);
  assert.deepEqual(all.map((e) => e.evtype), cases.map(([evtype]) => evtype), 'nothing else stored');
  assert.equal(all[1].data.rating, 7);
});

test(`an event whose request is lost before the server is retried and stored once (${ENGINE})`, async () => {
  const uid = await createPrompt(cluster.bases[0], 'color', 10);
  const session = await clientFor([proxy.url], newSub('lossy')).startSession(uid);
  await session.join(0);
  proxy.drop('request');
  const event = await session.respondColor(1, 2);
  const stored = await storedAt(session, 'color_prompt_response', 1);
  assert.deepEqual(stored.map((e) => e.uid), [event.uid]);
});

test(`events queued behind a lost answer keep their order (${ENGINE})`, async () => {
  const uid = await createPrompt(cluster.bases[0], 'press', 10);
  const session = await clientFor([proxy.url], newSub('lossy')).startSession(uid);
  const joined = session.join(0);
  proxy.drop('response');
  const rest = [session.pressStart(1), session.pressEnd(2), session.pressStart(3), session.leave(4)];
  const results = await Promise.all([joined, ...rest]);
  const stored = (await allEvents(session)).filter((e) => e.session_uid === session.sessionUid);
  assert.deepEqual(stored.map((e) => e.uid), results.map((e) => e.uid));
  assert.deepEqual(stored.map((e) => e.prompt_time), [0, 1, 2, 3, 4]);
});
