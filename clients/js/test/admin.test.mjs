// The admin side of the package against the real server (SQLite, or two
// PostgreSQL + Redis processes): prompts created, read and deleted; the
// checks made before sending agree with the server's, field by field; a
// prompt read without taking it (stats, timeline, search, stream, who is
// taking it now).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_TOKEN, ENGINE, PROMPTS, WebSocketImpl, clientFor, createPrompt, eventually, newSub, startCluster,
} from './support.mjs';
import {
  AdminClient, ForbiddenError, NetworkError, NotFoundError, PromptInvalidError, UnprocessableEntityError,
  checkPrompt, fieldOf, startClock,
} from '../src/index.js';

let cluster;
before(async () => { cluster = await startCluster(); });
after(async () => { await cluster.close(); });

/** An admin client whose fetch counts the requests it makes. */
function adminClient(options = {}) {
  const calls = [];
  const admin = new AdminClient({
    baseUrl: cluster.bases,
    adminToken: ADMIN_TOKEN,
    WebSocket: WebSocketImpl,
    fetch: (url, init) => { calls.push(`${init.method} ${new URL(url).pathname}`); return fetch(url, init); },
    ...options,
  });
  return { admin, calls };
}

/** POSTs a create body as is (no checks) → `{status, body}`. */
async function rawCreate(body) {
  const response = await fetch(new URL('/api/1/interactive_prompts', cluster.bases[0]), {
    method: 'POST',
    headers: { authorization: `bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const word = (patch) => ({ prompt: { ...PROMPTS.word, ...patch }, duration_seconds: 30 });

/** Bodies the server refuses, one per rule, with the field it names. */
const INVALID = [
  [word({ text: '   ' }), 'prompt.text'],
  [word({ text: 'x'.repeat(76) }), 'prompt.text'],
  // U+0085 is White_Space (trimmed by the server); U+FEFF is not.
  [word({ text: '\u0085\u2003' }), 'prompt.text'],
  [word({ options: ['only one'] }), 'prompt.options'],
  [word({ options: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] }), 'prompt.options'],
  [word({ options: ['fine', ' '] }), 'prompt.options[1]'],
  [word({ options: ['fine', 'y'.repeat(46)] }), 'prompt.options[1]'],
  [{ prompt: PROMPTS.word, duration_seconds: 0 }, 'duration_seconds'],
  [{ prompt: PROMPTS.word, duration_seconds: 86_401 }, 'duration_seconds'],
  [{ prompt: { ...PROMPTS.numeric, min: 5, max: 4 }, duration_seconds: 10 }, 'prompt.min'],
  [{ prompt: { ...PROMPTS.numeric, step: 2 }, duration_seconds: 10 }, 'prompt.step'],
  [{ prompt: { ...PROMPTS.numeric, min: 0, max: 11 }, duration_seconds: 10 }, 'prompt.max'],
  [{ prompt: { ...PROMPTS.color, colors: ['#112233'] }, duration_seconds: 10 }, 'prompt.colors'],
  [{ prompt: { ...PROMPTS.color, colors: ['#112233', 'red'] }, duration_seconds: 10 }, 'prompt.colors[1]'],
  [{ prompt: { ...PROMPTS.color, colors: ['#112233', '#12345G'] }, duration_seconds: 10 }, 'prompt.colors[1]'],
  [{ prompt: { style: 'press', text: '' }, duration_seconds: 10 }, 'prompt.text'],
];
/** Bodies both accept, near the limits. */
const VALID = [
  word({ text: ` ${'x'.repeat(75)} ` }),
  word({ text: '\ufeffBOM is kept' }),
  word({ options: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] }),
  word({ options: ['é'.repeat(45), '🙂'.repeat(45)] }),
  { prompt: { ...PROMPTS.numeric, min: -5, max: 5 }, duration_seconds: 86_400 },
  { prompt: { ...PROMPTS.color, colors: ['#abcdef', '#ABCDEF'] }, duration_seconds: 1 },
  { prompt: { style: 'press', text: 'Hold' }, duration_seconds: 5 },
];

describe(`the admin client (${ENGINE})`, () => {
  test('the checks before sending agree with the server: same verdict, same field', async () => {
    for (const [body, field] of INVALID) {
      const problems = checkPrompt(body);
      assert.ok(problems.length, `checkPrompt passes ${JSON.stringify(body)}`);
      assert.equal(problems[0].field, field, JSON.stringify(body));
      const { status, body: error } = await rawCreate(body);
      assert.equal(status, 422, JSON.stringify(body));
      assert.equal(fieldOf(error.message)?.field, field, `the server's ${JSON.stringify(error.message)}`);
    }
    for (const body of VALID) {
      assert.deepEqual(checkPrompt(body), [], JSON.stringify(body));
      assert.equal((await rawCreate(body)).status, 201, JSON.stringify(body));
    }
    assert.deepEqual(fieldOf('invalid request body at prompt.min: invalid type: string "x", expected i64 at line 1 column 40'),
      { field: 'prompt.min', message: 'invalid type: string "x", expected i64 at line 1 column 40' });
    assert.equal(fieldOf('invalid request body at body: expected a JSON object, got an array'), null);
    assert.equal(fieldOf('no field here'), null);
  });

  test('createPrompt refuses an invalid body before any request, listing every problem; the server refuses what it must', async () => {
    const { admin, calls } = adminClient();
    assert.throws(() => admin.createPrompt({ prompt: { ...PROMPTS.color, text: '', colors: ['#1', '#222222'] }, duration_seconds: 0 }),
      (e) => e instanceof PromptInvalidError
        && JSON.stringify(e.problems.map((p) => p.field)) === JSON.stringify(['prompt.text', 'prompt.colors[0]', 'duration_seconds']));
    assert.deepEqual(calls, [], 'nothing was sent');
    // What only the server can refuse comes back typed, its field named.
    const refused = await admin.transport.request({
      method: 'POST', path: 'api/1/interactive_prompts', auth: 'admin', body: { prompt: PROMPTS.press, duration_seconds: -1 },
    }).catch((e) => e);
    assert.ok(refused instanceof UnprocessableEntityError);
    assert.equal(fieldOf(refused).field, 'duration_seconds');
  });

  test('prompts of each style are created, read and deleted; a create whose answer is lost is not sent twice', async () => {
    const { admin } = adminClient();
    for (const style of Object.keys(PROMPTS)) {
      const created = await admin.createPrompt({ prompt: PROMPTS[style], duration_seconds: 20 });
      assert.match(created.uid, /^ip_/);
      assert.equal(created.prompt.style, style);
      const read = await admin.getPrompt(created.uid);
      assert.equal(read.deleted_at, null);
      const deleted = await admin.deletePrompt(created.uid);
      assert.equal(typeof deleted.deleted_at, 'number');
      assert.equal((await admin.getPrompt(created.uid)).deleted_at, deleted.deleted_at);
    }
    await assert.rejects(admin.getPrompt('ip_AAAAAAAAAAAAAAAAAAAAAA'), NotFoundError);
    await assert.rejects(admin.deletePrompt('ip_AAAAAAAAAAAAAAAAAAAAAA'), NotFoundError);

    let tries = 0;
    const lossy = new AdminClient({
      baseUrl: cluster.bases,
      adminToken: ADMIN_TOKEN,
      retry: { attempts: 5, baseDelayMs: 1 },
      // The request reaches the server, the answer is lost.
      fetch: async (url, init) => { tries++; await fetch(url, init); throw new TypeError('connection reset'); },
    });
    await assert.rejects(lossy.createPrompt({ prompt: PROMPTS.press, duration_seconds: 5 }), NetworkError);
    assert.equal(tries, 1, 'a create is never repeated once it may have been stored');
  });

  test('listPrompts pages through every prompt newest first, with its counts; bad options are refused before sending', async () => {
    const { admin, calls } = adminClient();
    const mine = [];
    for (const style of ['press', 'word', 'numeric']) mine.push(await createPrompt(cluster.bases[0], style, 10));
    const session = await clientFor(cluster.bases, newSub('listed')).startSession(mine[1]);
    await session.join(0);
    await session.respondWord(1, 1);
    const seen = [];
    let after = null;
    do {
      const page = await admin.listPrompts({ limit: 2, after });
      assert.ok(page.items.length <= 2);
      seen.push(...page.items);
      after = page.next;
    } while (after);
    const uids = seen.map((p) => p.uid);
    assert.equal(new Set(uids).size, uids.length, 'each prompt once');
    const order = mine.map((uid) => uids.indexOf(uid));
    assert.ok(order.every((i) => i >= 0), 'every new prompt is listed');
    assert.deepEqual([...order].sort((a, b) => b - a), order, 'newest first');
    const word = seen.find((p) => p.uid === mine[1]);
    assert.deepEqual([word.sessions, word.events, word.deleted_at], [1, 2, null]);
    assert.deepEqual([seen.find((p) => p.uid === mine[0]).sessions, seen.find((p) => p.uid === mine[0]).events], [0, 0]);
    await admin.deletePrompt(mine[0]);
    const deleted = await admin.listPrompts({ deleted: true, limit: 500 });
    assert.ok(deleted.items.some((p) => p.uid === mine[0] && typeof p.deleted_at === 'number'));
    assert.ok(!(await admin.listPrompts({ limit: 500 })).items.some((p) => p.uid === mine[0]));
    calls.length = 0;
    assert.throws(() => admin.listPrompts({ limit: 0 }), /limit must be an integer from 1 to 500/);
    assert.throws(() => admin.listPrompts({ limit: 501 }), /limit/);
    assert.throws(() => admin.listPrompts({ deleted: 'yes' }), /deleted must be/);
    assert.throws(() => admin.listPrompts({ after: 7 }), /after/);
    assert.deepEqual(calls, [], 'nothing was sent');
    await assert.rejects(admin.listPrompts({ after: 'not-a-cursor' }), UnprocessableEntityError);
  });

  test('a wrong admin token is refused', async () => {
    const wrong = new AdminClient({ baseUrl: cluster.bases, adminToken: 'not-the-token' });
    const uid = await createPrompt(cluster.bases[0], 'press', 10);
    await assert.rejects(wrong.getPrompt(uid), ForbiddenError);
    await assert.rejects(wrong.promptToken(uid), ForbiddenError);
    assert.throws(() => new AdminClient({ baseUrl: cluster.bases, adminToken: '' }), /adminToken/);
  });

  test('an opened prompt is read without taking it: stats, timeline, search, who is taking it now, and the stream', async () => {
    const { admin } = adminClient();
    const uid = await createPrompt(cluster.bases[0], 'word', 12);
    const people = await Promise.all([0, 1, 2].map(() => clientFor(cluster.bases, newSub('taker')).startSession(uid)));
    await Promise.all(people.map((s) => s.join(0)));
    await people[0].respondWord(1, 2);
    await people[1].respondWord(1.5, 2);
    await people[2].leave(2);

    const reader = await admin.openPrompt(uid);
    assert.equal(reader.durationSeconds, 12);
    assert.equal(reader.prompt.style, 'word');
    const stats = await reader.stats(reader.bins.binOf(3));
    assert.equal(stats.users, 2, 'three joined, one left; the admin is not among them');
    assert.deepEqual(stats.word_active, [0, 0, 2]);
    const tl = await reader.timeline();
    assert.equal(tl.bins, reader.bins.count);
    assert.equal((await reader.searchAll({})).length, 6);
    assert.equal(await reader.takingNow(), 2, 'two joined just now and have not left');
    assert.equal(await reader.takingNow(Date.now() / 1000 + 60), 0, 'a minute later their time is up');

    // The stream: the stored events replayed at the admin's clock, and a
    // new one near-live.
    const clock = startClock(0);
    const watcher = reader.watch({ clock, bandwidth: 5000 });
    const seen = [];
    watcher.on('events', (events) => seen.push(...events));
    await eventually(() => seen.length >= 6, 15_000, 'the replayed events');
    const like = await people[0].like(Math.min(11, clock() + 0.2));
    await eventually(() => seen.some((e) => e.uid === like.uid), 15_000, 'the near-live like');
    watcher.stop();

    // A deleted prompt still reads.
    await admin.deletePrompt(uid);
    const again = await admin.openPrompt(uid);
    assert.equal(typeof again.deletedAt, 'number');
    assert.equal((await again.timeline()).bins, tl.bins);
  });

  test('an expired or refused prompt token is re-minted once, transparently', async () => {
    const { admin, calls } = adminClient();
    const uid = await createPrompt(cluster.bases[0], 'numeric', 10);
    const reader = await admin.openPrompt(uid);
    reader.promptToken = 'expired.token.here';
    calls.length = 0;
    assert.equal((await reader.stats(0)).users, 0);
    assert.deepEqual(calls.map((c) => c.split(' ')[0]), ['GET', 'POST', 'GET'], 'refused, re-minted, read again');
  });
});
