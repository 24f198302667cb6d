// The participant page of real deployments (/p/{uid}) embedded by a host
// app on another origin — the example host app of examples/embed, whose
// RS256 tokens Chorus verifies with its JWKS — in Chromium and Firefox.
// The flows here are written against Playwright's page API, which the
// Firefox driver wraps (firefox.mjs); frames are reached through `frameAt`.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { AUDIENCE, mintToken, startHost } from '../../examples/embed/host.mjs';
import { WAIT } from './support.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A server answering every request with an empty page: an origin Chorus does not allow. */
async function startForeign() {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>elsewhere</title>');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); }),
  };
}

/**
 * `chorus serve` without dev mode: user tokens verified with the host's
 * JWKS (issuer and audience checked), the host's origin allowed to embed.
 */
async function startChorus(host) {
  const bin = process.env.CHORUS_BIN || join(root, 'target', 'debug', 'chorus');
  const adminToken = randomBytes(16).toString('hex');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CHORUS_')));
  const child = spawn(bin, [
    'serve', '--listen', '127.0.0.1:0', '--database', 'sqlite::memory:',
    '--user-jwks-url', `${host.origin}/jwks.json`,
    '--user-jwt-issuer', host.origin, '--user-jwt-audience', AUDIENCE,
    '--embed-origin', host.origin,
  ], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...env,
      RUST_LOG: process.env.RUST_LOG || 'warn',
      CHORUS_PROMPT_JWT_SECRET: randomBytes(32).toString('hex'),
      CHORUS_ADMIN_TOKEN: adminToken,
    },
  });
  process.on('exit', () => child.kill('SIGKILL'));
  const first = await new Promise((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`chorus serve exited with ${code} before listening`)));
    createInterface({ input: child.stdout }).once('line', ok);
  });
  const match = /^chorus listening on (http:\/\/\S+)$/.exec(first);
  assert.ok(match, `unexpected first line ${JSON.stringify(first)}`);
  return { base: match[1], adminToken, stop: () => child.kill('SIGTERM') };
}

/** The host app, Chorus and a foreign origin, all on 127.0.0.1 ports of their own. */
export async function startEmbedding() {
  const host = await startHost({ port: 0 });
  const foreign = await startForeign();
  const chorus = await startChorus(host);
  host.settings.chorus = chorus.base;
  return {
    host,
    chorus,
    foreign,
    /** A fresh token for the host's user (or `user`), as the host mints them. */
    token: (user = host.user, options = {}) => mintToken(host.keys, user, { issuer: host.origin, ...options }),
    /** A new word prompt of `seconds`, which the host page then embeds. */
    async prompt(seconds) {
      const res = await fetch(`${chorus.base}/api/1/interactive_prompts`, {
        method: 'POST',
        headers: { authorization: `bearer ${chorus.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          prompt: { style: 'word', text: 'Pick the word for now', options: ['calm', 'curious', 'bright'] },
          duration_seconds: seconds,
        }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      const { uid } = await res.json();
      host.settings.promptUid = uid;
      return uid;
    },
    async stop() {
      chorus.stop();
      await host.close();
      await foreign.close();
    },
  };
}

/** Waits until `frame` (Playwright or puppeteer) makes `fn(arg)` true. */
function waitIn(frame, fn, arg) {
  return frame.raw
    ? frame.raw.waitForFunction(fn, { timeout: WAIT }, arg)
    : frame.waitForFunction(fn, arg, { timeout: WAIT });
}

/** The frame of `b`'s page showing `origin`, once there is one: `{evaluate, waitFor}`. */
async function frameAt(b, origin) {
  const raw = b.page.raw;
  const deadline = Date.now() + WAIT;
  for (;;) {
    const frame = (raw || b.page).frames().find((f) => f.url().startsWith(`${origin}/`));
    if (frame) {
      return {
        evaluate: (fn, arg) => frame.evaluate(fn, arg),
        waitFor: (fn, arg) => waitIn(raw ? { raw: frame } : frame, fn, arg),
      };
    }
    assert.ok(Date.now() < deadline, `no frame of ${origin}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The types of the messages the host page has had from Chorus, in order. */
const hostLog = (page) => page.evaluate(() => [...document.querySelectorAll('#events li')].map((li) => li.dataset.type));

/** In the Chorus page: waits for the participant's own join in the flow; returns its user's sub. */
async function ownJoin(frame) {
  await frame.waitFor(() => document.querySelector('#flow li.me[data-evtype="join"]'));
  return frame.evaluate(() => document.querySelector('#flow li.me[data-evtype="join"]').dataset.sub);
}

/**
 * The host page on its origin embeds /p/{uid}, hands it an RS256 token
 * when asked, and the participant takes the prompt to the end: the host
 * hears `chorus:finished`; the page shows the chart.
 */
export async function hostTakesPromptToTheEnd(b, e) {
  const { page } = b;
  await e.prompt(8);
  e.host.minted = 0;
  e.host.mint = () => e.token();
  await page.goto(`${e.host.origin}/`);
  const chorus = await frameAt(b, e.chorus.base);
  await chorus.waitFor(() => document.querySelector('#controls .chip:not([disabled])'));
  assert.equal(await ownJoin(chorus), e.host.user.sub);
  await chorus.evaluate(() => document.querySelector('#controls .chip[data-index="1"]').click());
  await chorus.waitFor(() => document.querySelector('#flow li.me[data-evtype="word_prompt_response"]'));
  await chorus.evaluate(() => document.querySelector('#like').click());
  await page.locator('#events li[data-type="chorus:finished"]').waitFor({ timeout: 60_000 });
  await page.locator('#next').waitFor();
  await chorus.waitFor(() => document.querySelector('#status').textContent === 'Done. Thank you!');
  await chorus.waitFor(() => document.querySelector('#chart svg path.area'));
  assert.deepEqual(await hostLog(page), ['chorus:token-needed', 'chorus:finished']);
  assert.equal(e.host.minted, 1);
  await b.shot('embed-finished');
}

/**
 * While the host holds back its answer, a frame of another origin posts a
 * valid token (another user's) and the host posts malformed messages: the
 * page ignores them all and starts with the host's token once it comes.
 */
export async function foreignAndMalformedMessagesAreIgnored(b, e) {
  const { page } = b;
  await e.prompt(30);
  let open;
  const gate = new Promise((ok) => { open = ok; });
  e.host.minted = 0;
  e.host.mint = async () => { await gate; return e.token(); };
  await page.goto(`${e.host.origin}/`);
  await page.locator('#events li[data-type="chorus:token-needed"]').waitFor();
  const chorus = await frameAt(b, e.chorus.base);
  await page.evaluate((src) => {
    const f = document.createElement('iframe');
    f.src = src;
    document.body.append(f);
  }, `${e.foreign.origin}/`);
  const foreign = await frameAt(b, e.foreign.origin);
  const mallory = e.token({ sub: 'mallory', name: 'Mallory' });
  await foreign.evaluate((token) => window.parent.frames[0].postMessage({ type: 'chorus:token', token }, '*'), mallory);
  await page.evaluate(([origin, valid]) => {
    const w = document.getElementById('chorus').contentWindow;
    for (const m of ['chorus:token', null, 42, [valid], { type: 'chorus:token' }, { type: 'chorus:token', token: 42 },
      { type: 'chorus:token', token: 'not a token' }, { type: 'chorus:token', token: `${valid}.x` },
      { type: 'chorus:token', token: `x${'.x'.repeat(10000)}` }, { type: 'chorus:tokens', token: valid },
      { kind: 'chorus:token', token: valid }]) w.postMessage(m, origin);
  }, [e.chorus.base, mallory]);
  // (The page handles messages in order: when the host's token arrives,
  // everything above has been handled.)
  assert.equal(await chorus.evaluate(() => document.querySelector('#take').hidden), true);
  assert.equal(await chorus.evaluate(() => document.querySelector('#embed-status').textContent), 'Waiting for sign-in…');
  open();
  assert.equal(await ownJoin(chorus), e.host.user.sub, 'the session is the host user\'s, not the foreign token\'s');
  assert.equal(e.host.minted, 1);
  assert.deepEqual(await hostLog(page), ['chorus:token-needed']);
}

/** The host's first token has expired: the page asks again and carries on with the fresh one. */
export async function anExpiredTokenIsReplaced(b, e) {
  const { page } = b;
  await e.prompt(30);
  e.host.minted = 0;
  const now = Math.floor(Date.now() / 1000);
  e.host.mint = (n) => (n === 1 ? e.token(e.host.user, { now: now - 1200, lifetimeSeconds: 600 }) : e.token());
  await page.goto(`${e.host.origin}/`);
  const chorus = await frameAt(b, e.chorus.base);
  assert.equal(await ownJoin(chorus), e.host.user.sub);
  assert.equal(e.host.minted, 2);
  assert.deepEqual(await hostLog(page), ['chorus:token-needed', 'chorus:token-needed']);
  await chorus.waitFor(() => document.querySelector('#controls .chip:not([disabled])'));
}

/** Standalone, with the token in the fragment: the page takes it, then drops it from the address bar. */
export async function aTokenInTheFragmentIsTakenAndRemoved(b, e) {
  const { page } = b;
  const uid = await e.prompt(30);
  await page.goto(`${e.chorus.base}/p/${uid}#token=${e.token()}`);
  await page.locator('#flow li.me[data-evtype="join"]').waitFor();
  assert.equal(await page.evaluate(() => location.href), `${e.chorus.base}/p/${uid}`);
  assert.equal(await page.locator('#flow li.me[data-evtype="join"]').getAttribute('data-sub'), e.host.user.sub);
}

/** The picture of the user who has one: a host the test answers for itself, so nothing leaves the machine. */
const PICTURE = 'https://pictures.example/grace.svg';
const PICTURE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#f2c14e"/><circle cx="32" cy="26" r="12" fill="#7a5c1e"/></svg>';

/**
 * Answers `page`'s requests for `url` with PICTURE_SVG (Playwright's
 * routing in Chromium, puppeteer's interception in Firefox) → the
 * `Referer` each request carried (null: none).
 */
async function servePicture(page, url) {
  const referers = [];
  if (page.raw) {
    await page.raw.setRequestInterception(true);
    page.raw.on('request', (r) => {
      if (r.url() !== url) {
        r.continue();
        return;
      }
      referers.push(r.headers().referer ?? null);
      r.respond({ status: 200, contentType: 'image/svg+xml', body: PICTURE_SVG });
    });
  } else {
    await page.route(url, (route) => {
      referers.push(route.request().headers().referer ?? null);
      return route.fulfill({ status: 200, contentType: 'image/svg+xml', body: PICTURE_SVG });
    });
  }
  return referers;
}

/** `user` takes prompt `uid` through the API (no page): `events` are `[route, prompt_time, data]`. */
async function takeThroughApi(e, user, uid, events) {
  const token = e.token(user);
  const post = async (path, body) => {
    const res = await fetch(new URL(path, e.chorus.base), {
      method: 'POST', headers: { authorization: `bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
    return res.json();
  };
  const s = await post('/api/1/interactive_prompts/start_session', { interactive_prompt_uid: uid });
  for (const [route, promptTime, data = {}] of events) {
    await post(`/api/1/interactive_prompts/events/${route}`, {
      interactive_prompt_uid: uid, interactive_prompt_jwt: s.jwt, session_uid: s.session_uid, prompt_time: promptTime, data,
    });
  }
}

/** Waits until the image at `selector` in `page` has loaded. */
function loaded(page, selector) {
  return page.waitForFunction((sel) => {
    const img = document.querySelector(sel);
    return img && img.complete && img.naturalWidth > 0;
  }, selector, { timeout: WAIT });
}

/**
 * Faces in the room: Grace, whose token carries a `picture`, and Ben,
 * whose token has none, took the prompt before; the page shows Grace's
 * picture among the people here and at her events, loaded without a
 * referrer, and Ben's initials in a circle of one colour at each of his.
 */
export async function facesInTheRoom(b, e) {
  const t = await b.tab('faces');
  const { page } = t;
  const referers = await servePicture(page, PICTURE);
  const uid = await e.prompt(30);
  await takeThroughApi(e, { sub: 'grace-hopper', name: 'Grace Hopper', picture: PICTURE }, uid, [['join', 0.5]]);
  await takeThroughApi(e, { sub: 'ben-okri', name: 'Ben Okri' }, uid, [['join', 0.7], ['respond_word_prompt', 1, { index: 2 }]]);
  await page.goto(`${e.chorus.base}/p/${uid}#token=${e.token()}`);

  // Who is here: Grace (Ben has no picture; the participant is never shown to themselves).
  const face = `#faces img[src="${PICTURE}"]`;
  await loaded(page, face);
  assert.equal(await page.locator(face).getAttribute('referrerpolicy'), 'no-referrer');
  assert.equal(await page.locator('#faces .avatar').count(), 1);

  // Her events show her picture; Ben's, his initials, always in the same colour.
  await loaded(page, '#flow li[data-sub="grace-hopper"] .avatar img');
  assert.equal(await page.locator('#flow li[data-sub="grace-hopper"] .avatar img').getAttribute('src'), PICTURE);
  await page.locator('#flow li[data-sub="ben-okri"][data-evtype="word_prompt_response"]').waitFor();
  const ben = await page.evaluate(() => [...document.querySelectorAll('#flow li[data-sub="ben-okri"] .avatar')]
    .map((a) => ({ text: a.textContent, color: a.style.background, img: a.querySelectorAll('img').length })));
  assert.equal(ben.length, 2, 'his join and his answer');
  for (const a of ben) assert.deepEqual(a, { text: 'BO', color: ben[0].color, img: 0 });
  assert.notEqual(ben[0].color, '', 'a coloured circle');
  // The participant's own events: their initials (the host's user is Ada).
  assert.equal(await page.locator('#flow li.me[data-evtype="join"] .avatar').textContent(), 'A');
  assert.ok(referers.length >= 1, 'the picture was fetched');
  assert.deepEqual(referers.filter((r) => r !== null), [], 'without a referrer');
  await t.shot('faces');
  await page.goto('about:blank');
}
