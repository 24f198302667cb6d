// The example app runs as is: `examples/take-prompt.mjs` takes a short
// prompt from start to end against a dev-mode server (dev login, the
// prompt list) and prints the room, including someone else's answers.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ENGINE, ROOT, clientFor, createPrompt, freshDatabase, newSub, startServer } from './support.mjs';
import { devLogin, devPrompts } from '../src/index.js';

const run = promisify(execFile);
const EXAMPLE = join(ROOT, 'clients', 'js', 'examples', 'take-prompt.mjs');
// Node 20 has a WebSocket only behind a flag; 22 has it on.
const flags = Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-websocket', '--no-warnings'] : [];

let db;
let server;
before(async () => {
  db = freshDatabase();
  server = await startServer(db.url, { extra: ['--dev'] });
});
after(async () => {
  await server.kill('SIGTERM');
  db.drop();
});

test(`dev mode: devLogin hands out a user token and devPrompts lists the prompts (${ENGINE})`, async () => {
  const uid = await createPrompt(server.base, 'word', 5);
  const login = await devLogin(server.base, 'Ada');
  assert.match(login.user_jwt, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.ok(login.sub);
  const prompts = await devPrompts(server.base);
  assert.ok(prompts.some((p) => p.uid === uid && p.duration_seconds === 5));
});

test(`the example app takes a prompt end to end and prints the room (${ENGINE})`, async () => {
  const uid = await createPrompt(server.base, 'numeric', 4);
  // Someone took it before: the example sees their answer replayed.
  const before = await clientFor([server.base], newSub('earlier')).startSession(uid);
  await before.join(0);
  await before.respond(2, 9);
  await before.leave(4);
  const { stdout, stderr } = await run(process.execPath, [...flags, EXAMPLE, server.base, uid, 'Grace'], { timeout: 60_000 });
  assert.equal(stderr, '');
  const lines = stdout.trim().split('\n');
  assert.equal(lines[0], 'How calm do you feel? (numeric, 4 s)');
  assert.ok(lines.includes('[0:00] You joined'), stdout);
  assert.ok(lines.includes('[0:02] Tester chose 9'), 'the earlier answer replayed at its time, with its name');
  assert.ok(lines.some((l) => /^\[0:0\d\] — \d+ here, \d+ likes$/.test(l)), 'the totals');
  assert.ok(lines.some((l) => l.startsWith('The whole prompt: 3 bins')), 'the timeline');
  assert.match(lines.at(-1), /^Done: \d+ events seen\.$/);
});
