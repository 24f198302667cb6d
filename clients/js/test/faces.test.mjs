// Who is here through the package: profilePictures against the real
// server, the caller left out, and bad arguments refused before any request.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrompt, newSub, startCluster, userToken, ENGINE } from './support.mjs';
import { Client, InvalidArgumentError } from '../src/index.js';

let cluster;
before(async () => { cluster = await startCluster(); });
after(async () => { await cluster.close(); });

const clientWith = (sub, picture) => new Client({
  baseUrl: cluster.bases,
  getUserToken: () => userToken(sub, { picture }),
});

describe(`who is here through the package (${ENGINE})`, () => {
  test('profilePictures names who joined, with picture and name, never the caller', async () => {
    const uid = await createPrompt(cluster.bases[0], 'numeric', 20);
    const url = 'https://cdn.example.com/faces/ada.png';
    const ada = await clientWith(newSub('ada'), url).startSession(uid);
    const joined = await ada.join(1);
    assert.equal(joined.icon, url, 'the join carries the picture as its icon');
    const viewer = await clientWith(newSub('viewer'), 'https://cdn.example.com/faces/v.png').startSession(uid);
    assert.deepEqual(await viewer.profilePictures(2, 5), [{ url, name: 'Tester' }]);
    assert.deepEqual(await viewer.profilePictures(0, 5), [], 'nobody had joined at 0');
    assert.deepEqual(await ada.profilePictures(2, 5), [], 'never the caller');
  });

  test('bad arguments throw InvalidArgumentError before any request', async () => {
    const uid = await createPrompt(cluster.bases[0], 'numeric', 20);
    const s = await clientWith(newSub('bad')).startSession(uid);
    for (const [t, limit] of [[-1, 5], [21, 5], [Number.NaN, 5], [1, 0], [1, 11], [1, 2.5], [1, '3']]) {
      assert.throws(() => s.profilePictures(t, limit), InvalidArgumentError, `${t}, ${limit}`);
    }
  });
});
