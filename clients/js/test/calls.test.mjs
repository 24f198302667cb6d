// Every call of the package against the real server (SQLite, or two
// PostgreSQL + Redis processes), with what the server stored checked by
// search and the totals checked against a count made here.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ENGINE, allEvents, clientFor, createPrompt, newSub, startCluster, userToken,
} from './support.mjs';
import {
  Client, ForbiddenError, ImpossibleEventDataError, NotFoundError, SessionAlreadyEndedError,
  SessionAlreadyStartedError, SessionHasLaterEventError, SessionHasSameEventAtSameTimeError,
  SessionNotFoundError, SessionNotStartedError, EventRuleError, ApiError, startClock,
} from '../src/index.js';

let cluster;
before(async () => { cluster = await startCluster(); });
after(async () => { await cluster.close(); });

describe(`every call of the package (${ENGINE})`, () => {
  test('a numeric session posts join, responses, likes and leave; search, stats and timeline agree with them', async () => {
    const uid = await createPrompt(cluster.bases[0], 'numeric', 20);
    const people = await Promise.all([0, 1, 2].map(() => clientFor(cluster.bases, newSub('numeric')).startSession(uid)));
    const posted = [];
    const keep = (p) => p.then((e) => { posted.push(e); return e; });
    const [a, b, c] = people;
    await Promise.all(people.map((s) => keep(s.join())));
    await keep(a.respondNumeric(2, 3));
    await keep(a.respond(3, 7)); // a changes their mind: 3 no longer counts
    await keep(b.respond(4, 7));
    await keep(c.respondNumeric(5, 10));
    await keep(a.like(5.5));
    await keep(b.like(6));
    await keep(c.leave(8));

    for (const e of posted) {
      assert.match(e.uid, /^ipe_/);
      assert.equal(e.icon, null);
    }
    const joined = posted.find((e) => e.evtype === 'join');
    assert.equal(joined.data.name, 'Tester', 'join events carry the display name');

    const stored = await allEvents(a);
    assert.deepEqual(stored.map((e) => e.uid).sort(), posted.map((e) => e.uid).sort(), 'search holds exactly what was posted');
    assert.deepEqual(stored.map((e) => e.prompt_time), [...stored.map((e) => e.prompt_time)].sort((x, y) => x - y));

    const last = a.bins.count - 1;
    const totals = await a.stats(last);
    assert.equal(totals.users, 2, 'three joined, one left');
    assert.equal(totals.likes, 2);
    const expected = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i + 1), 0]));
    expected['7'] = 2; expected['10'] = 1;
    assert.deepEqual(totals.numeric_active, expected, "each person's latest rating counts, a response stays after leaving");
    const early = await a.stats(a.bins.binOf(2.5));
    assert.equal(early.numeric_active['3'], 1, 'at 2.5 s the first rating still counts');

    const tl = await b.timeline();
    assert.equal(tl.bins, a.bins.count);
    assert.equal(tl.users.length, a.bins.count);
    assert.equal(tl.users[last], 2);
    assert.equal(tl.likes[last], 2);
  });

  test('colour, word and press sessions post their responses', async () => {
    const [color, word, press] = await Promise.all(['color', 'word', 'press'].map((s) => createPrompt(cluster.bases[0], s, 10)));
    const client = clientFor(cluster.bases, newSub('styles'));
    const cs = await client.startSession(color);
    await cs.join(0);
    assert.deepEqual((await cs.respondColor(1, 2)).data, { index: 2 });
    assert.deepEqual((await cs.respond(2, 0)).data, { index: 0 });
    assert.deepEqual((await cs.stats(cs.bins.count - 1)).color_active, [1, 0, 0]);

    const ws = await client.startSession(word);
    await ws.join(0);
    assert.equal((await ws.respondWord(1, 1)).evtype, 'word_prompt_response');
    assert.deepEqual((await ws.stats(ws.bins.count - 1)).word_active, [0, 1, 0]);

    const ps = await client.startSession(press);
    await ps.join(0);
    assert.equal((await ps.pressStart(1)).evtype, 'press_prompt_start_response');
    const during = await ps.stats(ps.bins.binOf(1));
    assert.equal(during.press_active, 1);
    assert.equal((await ps.pressEnd(2)).evtype, 'press_prompt_end_response');
    await ps.leave(10);
    const total = await ps.stats(ps.bins.count - 1);
    assert.equal(total.press, 1);
    assert.equal(total.press_active, 0);
  });

  test('a kept session resumes from its JSON', async () => {
    const uid = await createPrompt(cluster.bases[0], 'word', 5);
    const client = clientFor(cluster.bases, newSub('resume'));
    const first = await client.startSession(uid);
    assert.equal(first.prompt.style, 'word');
    assert.equal(first.durationSeconds, 5);
    await first.join(0);
    const kept = JSON.parse(JSON.stringify(first));
    assert.deepEqual(Object.keys(kept).sort(), ['duration_seconds', 'jwt', 'prompt', 'session_uid', 'uid']);
    const resumed = client.resumeSession(kept);
    assert.equal(resumed.sessionUid, first.sessionUid);
    await resumed.respondWord(1, 1);
    const mine = await resumed.search({ filters: { session_uid: { operator: 'eq', value: first.sessionUid } } });
    assert.deepEqual(mine.items.map((e) => e.evtype), ['join', 'word_prompt_response']);
  });

  test('each rule the server enforces arrives as its own error class', async () => {
    const uid = await createPrompt(cluster.bases[0], 'press', 10);
    const client = clientFor(cluster.bases, newSub('rules'));
    const s = await client.startSession(uid);
    await assert.rejects(s.like(1), SessionNotStartedError);
    await s.join(1);
    await assert.rejects(s.join(1), SessionAlreadyStartedError);
    await assert.rejects(s.pressEnd(2), ImpossibleEventDataError, 'not pressing');
    await s.like(3);
    await assert.rejects(s.like(3), SessionHasSameEventAtSameTimeError, 'a first try refused by rule 7 is an error');
    await assert.rejects(s.like(2), (e) => e instanceof SessionHasLaterEventError && e instanceof EventRuleError
      && e.status === 409 && e.type === 'session_has_later_event');
    await s.leave(4);
    await assert.rejects(s.like(5), SessionAlreadyEndedError);
    const ghost = client.resumeSession({ ...s.toJSON(), session_uid: 'ips_AAAAAAAAAAAAAAAAAAAAAA' });
    await assert.rejects(ghost.join(0), SessionNotFoundError);
    await assert.rejects(client.startSession('ip_AAAAAAAAAAAAAAAAAAAAAA'), (e) => e instanceof NotFoundError && e.status === 404);
    const events = await allEvents(s);
    assert.deepEqual(events.filter((e) => e.session_uid === s.sessionUid).map((e) => e.evtype), ['join', 'like', 'leave'], 'refused events change nothing');
  });

  test('a refused user token is asked for again once; a fresh one carries on, a bad one is a ForbiddenError', async () => {
    const uid = await createPrompt(cluster.bases[0], 'numeric', 10);
    const sub = newSub('tokens');
    const asked = [];
    let expired = true;
    // The first token handed out has expired; later ones are fresh.
    const getUserToken = ({ refused }) => {
      asked.push(refused);
      const token = userToken(sub, { expiresIn: expired ? -120 : 3600 });
      expired = false;
      return token;
    };
    const client = new Client({ baseUrl: cluster.bases, getUserToken });
    const s = await client.startSession(uid);
    assert.equal(asked.length, 2, 'called again after the 403');
    assert.equal(asked[0], null);
    assert.ok(asked[1], 'told which token was refused');
    await s.join(0);
    assert.equal(asked.length, 2, 'the fresh token is kept');

    // Requests refused together share one fresh token.
    asked.length = 0;
    expired = true;
    const together = new Client({ baseUrl: cluster.bases, getUserToken });
    const sessions = await Promise.all([1, 2, 3, 4].map(() => together.startSession(uid)));
    assert.equal(new Set(sessions.map((x) => x.sessionUid)).size, 4);
    assert.equal(asked.length, 2, 'one call for the first token, one after the 403s');

    const forged = new Client({ baseUrl: cluster.bases, getUserToken: () => userToken(sub, { secret: 'not-the-secret' }) });
    await assert.rejects(forged.startSession(uid), (e) => e instanceof ForbiddenError && e.status === 403 && e.type === 'invalid');
    let calls = 0;
    const failing = new Client({ baseUrl: cluster.bases, getUserToken: async () => { calls++; throw new Error('signed out'); } });
    await assert.rejects(failing.startSession(uid), /signed out/);
    await assert.rejects(failing.startSession(uid), /signed out/);
    assert.equal(calls, 2, 'a failed getUserToken is not cached');
  });

  test('a stream refused at the handshake ends the watch with a typed error', async () => {
    const uid = await createPrompt(cluster.bases[0], 'numeric', 10);
    const client = clientFor(cluster.bases, newSub('refused'));
    const s = await client.startSession(uid);
    const stranger = client.resumeSession({ ...s.toJSON(), jwt: 'not.a.token' });
    const watcher = stranger.watch({ clock: startClock(0) });
    const end = await watcher.finished;
    assert.equal(end.reason, 'failed');
    assert.ok(end.error instanceof ForbiddenError && end.error instanceof ApiError, `${end.error}`);
    await assert.rejects(async () => { for await (const _ of watcher) { /* nothing arrives */ } }, ForbiddenError);
  });
});
