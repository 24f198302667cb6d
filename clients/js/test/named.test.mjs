// Named prompts through the package against the real server (SQLite, or
// two PostgreSQL + Redis processes): the admin defines, reads, lists and
// deletes them; users start sessions by identifier and land on one
// instance; the checks made before sending agree with the server's.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, ENGINE, PROMPTS, clientFor, newSub, startCluster } from './support.mjs';
import {
  AdminClient, InvalidArgumentError, NotFoundError, PromptInvalidError, checkNamedPrompt, fieldOf,
} from '../src/index.js';

let cluster;
before(async () => { cluster = await startCluster(); });
after(async () => { await cluster.close(); });

/** PUTs a definition as is (no checks) → `{status, body}`. */
async function rawPut(identifier, body) {
  const response = await fetch(new URL(`/api/1/interactive_prompts/public/${identifier}`, cluster.bases[0]), {
    method: 'PUT',
    headers: { authorization: `bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const good = { prompt: PROMPTS.word, duration_seconds: 20, expires_seconds: 3600 };

describe(`named prompts through the package (${ENGINE})`, () => {
  test('defined, started by identifier on one instance, listed, changed, deleted', async () => {
    const admin = new AdminClient({ baseUrl: cluster.bases, adminToken: ADMIN_TOKEN });
    const id = `mood-${newSub('n')}`;
    const defined = await admin.putNamedPrompt(id, good);
    assert.equal(defined.version, 1);
    assert.equal(defined.current_uid, null);

    const sessions = await Promise.all([0, 1, 2, 3].map(() => clientFor(cluster.bases, newSub('taker')).startPublic(id)));
    const uids = new Set(sessions.map((s) => s.promptUid));
    assert.equal(uids.size, 1, 'one instance for everyone');
    assert.equal(sessions[0].prompt.style, 'word');
    await sessions[0].join(0);
    await sessions[0].respondWord(1, 2);
    assert.equal((await admin.getNamedPrompt(id)).current_uid, sessions[0].promptUid);
    assert.ok((await admin.listNamedPrompts()).items.some((n) => n.identifier === id));

    const changed = await admin.putNamedPrompt(id, { ...good, prompt: PROMPTS.press });
    assert.equal(changed.version, 2);
    const next = await clientFor(cluster.bases, newSub('taker')).startPublic(id);
    assert.notEqual(next.promptUid, sessions[0].promptUid, 'a new version, a new instance');
    assert.equal(next.prompt.style, 'press');

    const deleted = await admin.deleteNamedPrompt(id);
    assert.equal(deleted.current_uid, next.promptUid);
    await assert.rejects(admin.getNamedPrompt(id), NotFoundError);
    await assert.rejects(admin.deleteNamedPrompt(id), NotFoundError);
    await assert.rejects(clientFor(cluster.bases, newSub('late')).startPublic(id), NotFoundError);
    assert.ok(!(await admin.listNamedPrompts()).items.some((n) => n.identifier === id));
    // The old instance reads as before.
    assert.equal((await admin.getPrompt(sessions[0].promptUid)).uid, sessions[0].promptUid);
  });

  test('the checks before sending agree with the server, field by field', async () => {
    const invalid = [
      ['Upper', good, 'identifier'],
      ['x'.repeat(65), good, 'identifier'],
      ['ok', { ...good, expires_seconds: 59 }, 'expires_seconds'],
      ['ok', { ...good, duration_seconds: 0 }, 'duration_seconds'],
      ['ok', { ...good, prompt: { style: 'press', text: ' ' } }, 'prompt.text'],
    ];
    for (const [identifier, body, field] of invalid) {
      const problems = checkNamedPrompt(identifier, body);
      assert.equal(problems[0]?.field, field, `${identifier} ${JSON.stringify(body)}`);
      const { status, body: error } = await rawPut(identifier, body);
      assert.equal(status, 422, JSON.stringify(error));
      assert.equal(fieldOf(error.message)?.field, field, error.message);
    }
    assert.deepEqual(checkNamedPrompt('ok-1', good), []);

    const calls = [];
    const admin = new AdminClient({
      baseUrl: cluster.bases,
      adminToken: ADMIN_TOKEN,
      fetch: (url, init) => { calls.push(url); return fetch(url, init); },
    });
    assert.throws(() => admin.putNamedPrompt('Bad', { ...good, expires_seconds: 1 }),
      (e) => e instanceof PromptInvalidError && e.problems.map((p) => p.field).join() === 'identifier,expires_seconds');
    assert.throws(() => admin.getNamedPrompt('a/b'), InvalidArgumentError);
    assert.throws(() => admin.deleteNamedPrompt(''), InvalidArgumentError);
    const client = clientFor(cluster.bases, newSub('x'));
    assert.throws(() => client.startPublic('No'), /identifier/);
    assert.throws(() => client.startPublic(7), /identifier/);
    assert.deepEqual(calls, [], 'nothing was sent');
  });
});
