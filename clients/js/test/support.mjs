// Shared helpers of the package's tests: the real `chorus serve` on a
// fresh SQLite file, or two processes on a fresh PostgreSQL database with
// Redis pub/sub; user tokens minted like an identity provider's; prompts
// created with the admin API.

import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '..', '..', '..');
export const BIN = process.env.CHORUS_BIN || join(ROOT, 'target', 'debug', 'chorus');

export const USER_SECRET = 'js-test-user-secret';
export const PROMPT_SECRET = 'js-test-prompt-secret';
export const ADMIN_TOKEN = 'js-test-admin-token';

/** The engine of this run: `sqlite` (default) or `postgres` (CHORUS_JS_ENGINE). */
export const ENGINE = process.env.CHORUS_JS_ENGINE || 'sqlite';
if (!['sqlite', 'postgres'].includes(ENGINE)) throw new Error(`CHORUS_JS_ENGINE must be sqlite or postgres, not ${ENGINE}`);

const POSTGRES = process.env.CHORUS_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.CHORUS_TEST_REDIS || 'redis://127.0.0.1:6379';

/** WebSocket for streams: Node ≥ 22's global one, else the `ws` package (a dev dependency). */
export const WebSocketImpl = globalThis.WebSocket ?? (await import('ws')).WebSocket;

function psql(url, sql) {
  const u = new URL(url);
  execFileSync('psql', ['-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username) || 'postgres',
    '-d', u.pathname.slice(1), '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * A fresh database of this run's engine → `{url, drop()}`. PostgreSQL
 * databases are named `chorus_t_<unix seconds>_<random>`, so that
 * scripts/test.sh can drop those a finished run left behind. Fails (never
 * skips) when PostgreSQL is unreachable.
 */
export function freshDatabase() {
  if (ENGINE === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-js-'));
    return { url: `sqlite://${join(dir, 'chorus.db')}`, drop: () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `chorus_t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).readUInt32BE()}`;
  try {
    psql(POSTGRES, `CREATE DATABASE ${name}`);
  } catch (e) {
    throw new Error(`PostgreSQL at ${POSTGRES} is unreachable: ${e.stderr || e.message}`);
  }
  const url = POSTGRES.replace(/\/[^/]*$/, `/${name}`);
  return { url, drop: () => { try { psql(POSTGRES, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } catch { /* test.sh drops it later */ } } };
}

/**
 * Starts `chorus serve` on `database` (and Redis on PostgreSQL) → a
 * server handle `{base, listen, child, kill(signal), exited}`.
 */
export async function startServer(database, { listen = '127.0.0.1:0', extra = [] } = {}) {
  const args = ['serve', '--listen', listen, '--database', database, ...extra];
  if (database.startsWith('postgres')) args.push('--redis', REDIS);
  const child = spawn(BIN, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      CHORUS_USER_JWT_SECRET: USER_SECRET,
      CHORUS_PROMPT_JWT_SECRET: PROMPT_SECRET,
      CHORUS_ADMIN_TOKEN: ADMIN_TOKEN,
      CHORUS_PG_POOL_SIZE: '4',
      RUST_LOG: process.env.RUST_LOG || 'error',
    },
  });
  const exited = new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    new Promise((ok) => lines.once('line', ok)),
    exited.then(({ code }) => { throw new Error(`chorus serve exited with ${code} before listening`); }),
  ]);
  const match = /(http:\/\/\S+)$/.exec(first);
  if (!match) throw new Error(`unexpected first line ${JSON.stringify(first)}`);
  lines.on('line', () => {}); // keep draining stdout
  const kill = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
  process.once('exit', kill);
  return {
    base: match[1],
    listen: match[1].replace('http://', ''),
    child,
    exited,
    /** Sends `signal` and waits for the process to end. */
    async kill(signal = 'SIGKILL') {
      child.kill(signal);
      return exited;
    },
  };
}

/**
 * This engine's deployment: one server on SQLite; two server processes
 * sharing a PostgreSQL database and Redis. → `{servers, bases, restart(i), close()}`.
 */
export async function startCluster({ extra = [] } = {}) {
  const db = freshDatabase();
  const count = ENGINE === 'postgres' ? 2 : 1;
  const servers = [];
  for (let i = 0; i < count; i++) servers.push(await startServer(db.url, { extra }));
  return {
    servers,
    get bases() { return servers.map((s) => s.base); },
    database: db.url,
    /** Starts server `i` again on the same address (after a kill). */
    async restart(i) {
      servers[i] = await startServer(db.url, { listen: servers[i].listen, extra });
      return servers[i];
    },
    async close() {
      await Promise.all(servers.map((s) => (s.child.exitCode === null && s.child.signalCode === null ? s.kill('SIGTERM') : null)));
      db.drop();
    },
  };
}

const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

/** An HS256 user token as an identity provider would mint it. */
export function userToken(sub, { name = 'Tester', expiresIn = 3600, secret = USER_SECRET, picture } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url({ alg: 'HS256', typ: 'JWT' });
  const body = b64url({ sub, given_name: name, iat: now, exp: now + expiresIn, ...(picture ? { picture } : {}) });
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** A fresh user sub. */
export const newSub = (label = 'user') => `${label}-${randomBytes(6).toString('hex')}`;

/** Calls the admin API; resolves to the JSON body (throws on an error status). */
export async function admin(base, method, path, body) {
  const response = await fetch(new URL(path, base), {
    method,
    headers: { authorization: `bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** Example prompts of each style. */
export const PROMPTS = {
  numeric: { style: 'numeric', text: 'How calm do you feel?', min: 1, max: 10, step: 1 },
  press: { style: 'press', text: 'Press while you like it' },
  color: { style: 'color', text: 'Which colour is this?', colors: ['#112233', '#445566', '#778899'] },
  word: { style: 'word', text: 'Pick a word', options: ['calm', 'curious', 'joyful'] },
};

/** Creates a prompt of `style` lasting `duration` seconds → its uid. */
export async function createPrompt(base, style, duration) {
  const created = await admin(base, 'POST', '/api/1/interactive_prompts', { prompt: PROMPTS[style], duration_seconds: duration });
  return created.uid;
}

/** A client of the package for user `sub` (tokens minted here; `onToken` sees each call). */
export function clientFor(bases, sub, { onToken = () => {}, ...options } = {}) {
  return new Client({
    baseUrl: bases,
    WebSocket: WebSocketImpl,
    getUserToken: (ctx) => { onToken(ctx); return userToken(sub); },
    ...options,
  });
}

/** Every event of a prompt, in order, read with search (pages of 5000). */
export async function allEvents(session) {
  const items = [];
  let sort;
  for (;;) {
    const page = await session.search({ ...(sort ? { sort } : {}), limit: 5000 });
    items.push(...page.items);
    if (!page.next_page_sort) return items;
    sort = page.next_page_sort;
  }
}

/** Waits until `check()` is truthy (polling), or fails after `ms`. */
export async function eventually(check, ms = 30_000, what = 'condition') {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
