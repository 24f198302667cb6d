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

/** An HTTP answer made by the proxy itself, as a load balancer would. */
function answer(status, reason, type, extra = '') {
  const body = JSON.stringify({ type, message: `the proxy answered ${status}` });
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${extra}connection: close\r\n\r\n${body}`;
}

/**
 * A proxy to `target` (an http://host:port URL). For the next event POST,
 * `drop('response')` lets it reach the server but loses the answer;
 * `drop('request')` sends it nowhere; `drop('busy')` answers 503 with
 * `Retry-After: 1` without forwarding; `drop('gateway')` forwards it and
 * answers 502 in place of the server's answer.
 */
async function startProxy(target) {
  const { hostname, port } = new URL(target);
  let armed = null;
  const stats = { dropped: 0, eventPosts: 0, postedAt: [] };
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client); sockets.add(upstream);
    let replaceAnswer = null;
    const cut = () => { client.destroy(); upstream.destroy(); };
    client.on('data', (chunk) => {
      if (chunk.includes(EVENT_POST)) {
        stats.eventPosts++;
        stats.postedAt.push(Date.now());
        const what = armed;
        armed = null;
        if (what === 'request') { stats.dropped++; cut(); return; }
        if (what === 'busy') {
          stats.dropped++;
          client.end(answer(503, 'Service Unavailable', 'unavailable', 'retry-after: 1\r\n'));
          upstream.destroy();
          return;
        }
        if (what === 'response') replaceAnswer = () => cut();
        if (what === 'gateway') replaceAnswer = () => { client.end(answer(502, 'Bad Gateway', 'bad_gateway')); upstream.destroy(); };
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (replaceAnswer) { stats.dropped++; replaceAnswer(); return; }
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

test(`a 503 from in front of the server is retried after its Retry-After; a 502 after the server stored the event resolves to it (${ENGINE})`, async () => {
  const uid = await createPrompt(cluster.bases[0], 'word', 10);
  const session = await clientFor([proxy.url], newSub('lossy')).startSession(uid);
  await session.join(0);
  const firstTry = proxy.stats.postedAt.length;
  proxy.drop('busy');
  const chosen = await session.respondWord(1, 2);
  const [busyAt, retriedAt] = proxy.stats.postedAt.slice(firstTry, firstTry + 2);
  assert.ok(retriedAt - busyAt >= 950, `retried ${retriedAt - busyAt} ms later, not after Retry-After: 1`);
  assert.deepEqual((await storedAt(session, 'word_prompt_response', 1)).map((e) => e.uid), [chosen.uid]);

  proxy.drop('gateway');
  const liked = await session.like(2);
  assert.deepEqual((await storedAt(session, 'like', 2)).map((e) => e.uid), [liked.uid], 'stored once, and the call has its uid');
});
