// The admin console's flows (docs/console.md), run in Chromium
// (admin.test.mjs) and in Firefox (admin-firefox.test.mjs) against a
// `chorus demo` with its live crowd: sign in (a wrong token refused with a
// message), create a prompt of each style with and without validation
// errors (caught before sending, or refused by the server and shown at the
// field), watch a prompt while the crowd takes it and while the test posts
// events, download its CSV and compare it with the API's export, delete it;
// and manage named prompts: define one of each style (errors caught before
// sending and refused by the server, each at its field), change one, see
// its current instance once a user starts it and watch it, delete one.

import assert from 'node:assert/strict';
import { WAIT } from './support.mjs';

/** An API call from the test itself → the parsed JSON (or text). */
async function api(base, method, path, token, body) {
  const response = await fetch(new URL(path, base), {
    method,
    headers: { ...(token ? { authorization: `bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text;
}

/**
 * From now on, alters the page's `method` requests to paths ending in
 * `pathEnd` on their way out: `src` is run with `request` = `{url, body}`
 * (the body parsed) and may change either, as if the server's rules were
 * stricter than the page's. `window.rewrite = null` stops it.
 */
function alterRequests(page, method, pathEnd, src) {
  return page.evaluate(([m, end, code]) => {
    const alter = new Function('request', code);
    window.rewrite = (url, init) => {
      if (init.method !== m || !new URL(url, location.href).pathname.endsWith(end)) return null;
      const request = { url: String(url), body: JSON.parse(init.body) };
      alter(request);
      return window.originalFetch(request.url, { ...init, body: JSON.stringify(request.body) });
    };
  }, [method, pathEnd, src]);
}

/** Records every request the page's scripts send (the console calls `fetch` at each request). */
function recordRequests(page) {
  return page.evaluate(() => {
    window.sent = [];
    const original = window.originalFetch || window.fetch;
    window.originalFetch = original;
    window.fetch = (url, init = {}) => {
      window.sent.push(`${init.method || 'GET'} ${new URL(url, location.href).pathname}`);
      return (window.rewrite ? window.rewrite(url, init) : null) || original(url, init);
    };
  });
}

const sent = (page) => page.evaluate(() => window.sent.slice());
const visibleError = (page, field) => page.locator(`#create-form .field-error[data-for="${field}"]:not([hidden])`);

/** Signs in: an empty token and a wrong one are refused with a message; the right one is kept in sessionStorage only. */
export async function signIn(b, demo) {
  const { page } = b;
  await page.goto(`${demo.base}/admin`);
  await page.locator('#signin-form').waitFor();
  await recordRequests(page);
  await page.click('#signin-form button[type="submit"]');
  assert.equal(await page.textContent('#token-error'), 'Enter the admin token.');
  assert.deepEqual(await sent(page), [], 'an empty token is not sent');

  await page.fill('#token', 'not-the-admin-token');
  await page.click('#signin-form button[type="submit"]');
  await page.locator('#token-error').waitFor();
  await page.waitForFunction(() => /refused this token/.test(document.querySelector('#token-error').textContent));
  assert.match(await page.textContent('#token-error'), /^The server refused this token: /);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');
  await b.shot('admin-signin-refused');

  await page.fill('#token', demo.adminToken);
  await page.click('#signin-form button[type="submit"]');
  await page.locator('#list').waitFor();
  const kept = await page.evaluate(() => ({ session: sessionStorage.getItem('chorus.admin.token'), local: localStorage.length }));
  assert.deepEqual(kept, { session: demo.adminToken, local: 0 }, 'the token is in sessionStorage only');
}

/** The list shows the demo's four prompts with their counts, equal to the API's listing. */
export async function expectListing(b, demo) {
  const { page } = b;
  await page.locator('#prompt-rows tr[data-style="word"]').waitFor();
  const shown = await page.evaluate(() => [...document.querySelectorAll('#prompt-rows tr')].map((tr) => ({
    uid: tr.dataset.uid, sessions: Number(tr.querySelector('.sessions').textContent),
  })));
  const listed = await api(demo.base, 'GET', '/api/1/interactive_prompts?limit=500', demo.adminToken);
  assert.deepEqual(shown.map((r) => r.uid), listed.items.map((p) => p.uid), 'the same prompts, newest first');
  for (const row of shown) assert.ok(row.sessions >= 300, `${row.uid}: the recorded history's sessions are counted`);
  await b.shot('admin-list');
}

/** Fills the form's question and length. */
async function basics(page, style, text, seconds) {
  await page.click(`#create-form input[name="style"][value="${style}"]`);
  await page.fill('#f-text', text);
  await page.fill('#f-duration', String(seconds));
}

/** Submits and waits for the list with the new prompt marked → its uid. */
async function created(page, text) {
  await page.click('#create-submit');
  await page.locator('#prompt-rows tr.fresh').waitFor();
  assert.equal(await page.textContent('#prompt-rows tr.fresh .open'), text);
  const uid = await page.locator('#prompt-rows tr.fresh').getAttribute('data-uid');
  await page.click('#new-prompt');
  await page.locator('#create-form').waitFor();
  return uid;
}

/** Creates one prompt of each style, each after its field errors were shown and fixed → `{style: uid}`. */
export async function createPrompts(b) {
  const { page } = b;
  const uids = {};
  await page.click('#new-prompt');
  await page.locator('#create-form').waitFor();
  await recordRequests(page);

  // Numeric: a missing question, a range over 10, a length that is no number: said at each field, nothing sent.
  await basics(page, 'numeric', '   ', 'soon');
  await page.fill('#f-min', '0');
  await page.fill('#f-max', '20');
  await page.click('#create-submit');
  assert.match(await visibleError(page, 'prompt.text').textContent(), /^must be 1 to 75 characters after trimming, got 0$/);
  assert.match(await visibleError(page, 'prompt.max').textContent(), /max − min must be at most 10/);
  assert.match(await visibleError(page, 'duration_seconds').textContent(), /whole number between 1 and 86400/);
  await b.shot('admin-create-errors');
  await page.fill('#f-text', 'Admin: how sure are you?');
  await page.fill('#f-max', '10');
  await page.fill('#f-duration', '40');
  assert.deepEqual(await sent(page), [], 'an invalid prompt is never sent');
  uids.numeric = await created(page, 'Admin: how sure are you?');

  await basics(page, 'press', 'Admin: hold while it rings', 30);
  uids.press = await created(page, 'Admin: hold while it rings');

  // Colour: a colour that is not #RRGGBB, at its own entry.
  await basics(page, 'color', 'Admin: which colour?', 30);
  await page.fill('#f-colors li:nth-child(2) input', 'red');
  await page.click('#create-submit');
  assert.match(await visibleError(page, 'prompt.colors[1]').textContent(), /must be a colour like #A1B2C3, got "red"/);
  await page.fill('#f-colors li:nth-child(2) input', '#a1b2c3');
  uids.color = await created(page, 'Admin: which colour?');

  // Word: one word only, then an over-long one.
  await basics(page, 'word', 'Admin: pick a word', 30);
  await page.click('#f-options li:nth-child(2) .remove');
  await page.click('#create-submit');
  assert.match(await visibleError(page, 'prompt.options').textContent(), /must have 2 to 8 entries, got 1/);
  await page.click('#add-option');
  await page.fill('#f-options li:nth-child(2) input', 'w'.repeat(46));
  await page.click('#create-submit');
  assert.match(await visibleError(page, 'prompt.options[1]').textContent(), /must be 1 to 45 characters after trimming, got 46/);
  await page.fill('#f-options li:nth-child(2) input', 'bright');
  const before = (await sent(page)).length;
  uids.word = await created(page, 'Admin: pick a word');
  assert.deepEqual((await sent(page)).slice(before, before + 1), ['POST /api/1/interactive_prompts'], 'one request for the valid prompt');
  assert.equal((await sent(page)).filter((r) => r.startsWith('POST')).length, 4, 'one POST per prompt created');
  return uids;
}

/**
 * The server's refusal is shown at the field it names: the page's request
 * is altered on its way out (as if the server's rules were stricter than
 * the page's), and the server's 422 message lands at that field.
 */
export async function serverRefusals(b) {
  const { page } = b;
  const cases = [
    ['prompt.text', (body) => { body.prompt.text = 'x'.repeat(80); }, /^must be 1 to 75 characters after trimming, got 80$/],
    ['duration_seconds', (body) => { body.duration_seconds = 0; }, /^must be between 1 and 86400, got 0$/],
    ['prompt.step', (body) => { body.prompt.step = 2; }, /^must be 1, got 2$/],
  ];
  for (const [field, change, message] of cases) {
    await alterRequests(page, 'POST', '/api/1/interactive_prompts', `(${change.toString()})(request.body)`);
    await basics(page, 'numeric', 'Refused by the server', 30);
    await page.click('#create-submit');
    await visibleError(page, field).waitFor();
    assert.match(await visibleError(page, field).textContent(), message, field);
    await page.evaluate(() => { window.rewrite = null; });
  }
  await b.shot('admin-create-server-refusal');
  await page.click('#create-back');
  await page.locator('#list').waitFor();
}

/** The figures of the watch that move while people take the prompt. */
const figures = (page) => page.evaluate(() => ['taking', 'all-users', 'all-likes', 'all-answered', 'users', 'likes', 'answered']
  .map((id) => document.getElementById(id).textContent).join(' '));

/** Opens the prompt `uid` from the list. */
async function openFromList(page, base, uid) {
  await page.goto(`${base}/admin#/`);
  await page.locator(`#prompt-rows tr[data-uid="${uid}"] .open`).click();
  await page.locator('#watch').waitFor();
  await page.locator('#watch-text:not(:empty)').waitFor();
}

/** Watches one of the demo's prompts while its crowd takes it: someone is taking it, the chart is drawn, events flow, the figures change. */
export async function watchCrowd(b, demo) {
  const { page } = b;
  const listed = await api(demo.base, 'GET', '/api/1/interactive_prompts?limit=500', demo.adminToken);
  const word = listed.items.find((p) => p.prompt.style === 'word' && p.sessions >= 300);
  await openFromList(page, demo.base, word.uid);
  assert.equal(await page.textContent('#watch-text'), word.prompt.text);
  await page.locator('#chart svg path.area').first().waitFor();
  await page.waitForFunction(() => Number(document.querySelector('#taking').textContent) > 0, undefined, { timeout: WAIT });
  await page.locator('#flow li[data-sub^="demo-crowd-"]').first().waitFor();
  await page.locator('#flow li[data-sub^="demo-history-"]').first().waitFor();
  const first = await figures(page);
  await page.waitForFunction((f) => ['taking', 'all-users', 'all-likes', 'all-answered', 'users', 'likes', 'answered']
    .map((id) => document.getElementById(id).textContent).join(' ') !== f, first, { timeout: WAIT });
  await b.shot('admin-watch-crowd');
}

/** A participant the test drives through the API (the demo is in dev mode). */
async function participant(base, uid, name) {
  const { user_jwt: user } = await api(base, 'POST', '/api/1/dev/login', null, { name });
  const s = await api(base, 'POST', '/api/1/interactive_prompts/start_session', user, { interactive_prompt_uid: uid });
  return (route, prompt_time, data = {}) => api(base, 'POST', `/api/1/interactive_prompts/events/${route}`, user, {
    interactive_prompt_uid: uid, interactive_prompt_jwt: s.jwt, session_uid: s.session_uid, prompt_time, data,
  });
}

/** Watches a prompt the test created while the test takes it through the API: the figures change. */
export async function watchOwn(b, demo, uid) {
  const { page } = b;
  await openFromList(page, demo.base, uid);
  await page.locator('#chart svg').waitFor();
  assert.equal(await page.textContent('#all-answered'), '0');
  assert.equal(await page.textContent('#taking'), '0');
  const post = await participant(demo.base, uid, 'Ada Admin-Test');
  await post('join', 0);
  await post('respond_numeric_prompt', 1.5, { rating: 7 });
  await post('like', 2);
  // The figures change: someone is taking it, with an answer and a like.
  await page.waitForFunction(() => document.querySelector('#taking').textContent === '1'
    && document.querySelector('#all-answered').textContent === '1'
    && document.querySelector('#all-likes').textContent === '1', undefined, { timeout: WAIT });
  await post('respond_numeric_prompt', 3, { rating: 2 });
  await post('leave', 4);
  await page.waitForFunction(() => document.querySelector('#taking').textContent === '0', undefined, { timeout: WAIT });
  await page.locator('#flow li[data-evtype="numeric_prompt_response"]').first().waitFor({ timeout: 60_000 });
  await b.shot('admin-watch-own');
}

/** Downloads the watched prompt's CSV: equal, byte for byte, to the API's export. */
export async function downloadCsv(b, demo, uid) {
  const { page } = b;
  await page.click('#download');
  await page.locator('#download-link').waitFor();
  const csv = await page.evaluate(() => fetch(document.querySelector('#download-link').href).then((r) => r.text()));
  const exported = await api(demo.base, 'GET', `/api/1/interactive_prompts/${uid}/events/export?format=csv`, demo.adminToken);
  assert.equal(csv, exported, 'the download is the API export');
  const lines = csv.trimEnd().split('\r\n');
  assert.equal(lines[0], 'uid,session_uid,user_sub,evtype,data,prompt_time,created_at');
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')[3]),
    ['join', 'numeric_prompt_response', 'like', 'numeric_prompt_response', 'leave']);
  assert.equal(await page.locator('#download-link').getAttribute('download'), `${uid}.csv`);
}

/** Deletes the watched prompt (two clicks): gone from the live list, listed as deleted. */
export async function deleteWatched(b, demo, uid) {
  const { page } = b;
  await page.click('#delete');
  assert.equal(await page.textContent('#delete'), 'Click again to delete');
  await page.click('#delete');
  await page.waitForFunction(() => document.querySelector('#delete').textContent === 'Deleted', undefined, { timeout: WAIT });
  assert.match(await page.textContent('#watch-meta'), / · deleted /);
  const record = await api(demo.base, 'GET', `/api/1/interactive_prompts/${uid}`, demo.adminToken);
  assert.equal(typeof record.deleted_at, 'number', 'deleted on the server');
  await page.click('#watch-back');
  await page.locator('#prompt-rows tr').first().waitFor();
  assert.equal(await page.locator(`#prompt-rows tr[data-uid="${uid}"]`).count(), 0, 'no longer listed as live');
  await page.evaluate(() => {
    const select = document.querySelector('#list-deleted');
    select.value = 'true';
    select.dispatchEvent(new Event('change'));
  });
  await page.locator(`#prompt-rows tr.deleted[data-uid="${uid}"]`).waitFor();
  await b.shot('admin-deleted');
}

/** The named prompts as the console lists them. */
const namedRows = (page) => page.evaluate(() => [...document.querySelectorAll('#named-rows tr')].map((tr) => ({
  identifier: tr.dataset.identifier,
  style: tr.dataset.style,
  version: Number(tr.querySelector('.version').textContent),
  expires: tr.querySelector('.expires').textContent,
  current: tr.querySelector('.open-current')?.textContent ?? null,
})));

/** The named prompts as the API lists them, in the console's terms. */
async function namedListed(demo, expiresText) {
  const { items } = await api(demo.base, 'GET', '/api/1/interactive_prompts/public', demo.adminToken);
  return items.map((n) => ({
    identifier: n.identifier, style: n.prompt.style, version: n.version, expires: expiresText[n.expires_seconds], current: n.current_uid,
  }));
}

/** Fills the named prompt form's identifier (when new) and renewal period. */
async function namedBasics(page, identifier, style, text, seconds, expires) {
  if (identifier !== null) await page.fill('#f-identifier', identifier);
  await basics(page, style, text, seconds);
  await page.fill('#f-expires', String(expires));
}

/** Saves the named prompt form and waits for the list with `identifier` marked. */
async function saved(page, identifier) {
  await page.click('#create-submit');
  await page.locator(`#named-rows tr.fresh[data-identifier="${identifier}"]`).waitFor();
}

/**
 * Named prompts through the console: defined (one of each style, across a
 * create and a change), each field's problem shown at that field before
 * anything is sent and the server's refusals at the field they name;
 * listed as the API lists them; the current instance, once a user starts
 * it, opened in the watch view; deleted.
 */
export async function namedPrompts(b, demo) {
  const { page } = b;
  await page.click('#nav-named');
  await page.locator('#named-empty').waitFor();
  await page.click('#new-named');
  await page.locator('#f-identifier').waitFor();
  assert.equal(await page.textContent('#create-title'), 'New named prompt');
  await recordRequests(page);

  // Problems the page can see: said at their fields, nothing sent.
  await namedBasics(page, 'Mood Check', 'numeric', '  ', 30, 30);
  await page.click('#create-submit');
  assert.match(await visibleError(page, 'identifier').textContent(), /^must be 1 to 64 characters of a-z, 0-9 and -$/);
  assert.match(await visibleError(page, 'prompt.text').textContent(), /after trimming, got 0$/);
  assert.match(await visibleError(page, 'expires_seconds').textContent(), /^must be a whole number of at least 60$/);
  assert.deepEqual(await sent(page), [], 'an invalid definition is never sent');
  await b.shot('admin-named-errors');

  // The server's refusals, the request altered on its way out: at the field they name.
  await namedBasics(page, 'mood-check', 'numeric', 'Named: how is your mood?', 30, 3600);
  const refusals = [
    ['identifier', "request.url = request.url.replace(/[^/]+$/, 'Mood')", /^must be 1 to 64 characters of a-z, 0-9 and -, got "Mood"$/],
    ['expires_seconds', 'request.body.expires_seconds = 59', /^must be at least 60, got 59$/],
    ['prompt.max', 'request.body.prompt.max = 30', /^max − min must be at most 10/],
  ];
  for (const [field, src, message] of refusals) {
    await alterRequests(page, 'PUT', '/mood-check', src);
    await page.click('#create-submit');
    await visibleError(page, field).waitFor();
    assert.match(await visibleError(page, field).textContent(), message, field);
    await page.evaluate(() => { window.rewrite = null; });
  }
  await b.shot('admin-named-server-refusal');
  assert.equal((await sent(page)).length, refusals.length, 'one request per refusal');

  // Defined: numeric, press and word; then the numeric one changed to colours.
  await saved(page, 'mood-check');
  await page.click('#new-named');
  await namedBasics(page, 'hold-on', 'press', 'Named: hold while it swells', 20, 86400);
  await saved(page, 'hold-on');
  await page.click('#new-named');
  await namedBasics(page, 'pick-word', 'word', 'Named: one word for today', 25, 600);
  await saved(page, 'pick-word');
  const expiresText = { 3600: '1 h', 86400: '1 d', 600: '10 min' };
  assert.deepEqual(await namedRows(page), await namedListed(demo, expiresText), 'the list is the API listing');
  assert.deepEqual((await namedRows(page)).map((r) => [r.identifier, r.style, r.version, r.expires, r.current]), [
    ['hold-on', 'press', 1, '1 d', null], ['mood-check', 'numeric', 1, '1 h', null], ['pick-word', 'word', 1, '10 min', null],
  ]);

  await page.click('#named-rows tr[data-identifier="mood-check"] .edit');
  await page.waitForFunction(() => document.querySelector('#f-text').value === 'Named: how is your mood?', undefined, { timeout: WAIT });
  const filled = await page.evaluate(() => ({
    identifier: document.querySelector('#f-identifier').value,
    readOnly: document.querySelector('#f-identifier').readOnly,
    style: document.querySelector('#create-form input[name="style"]:checked').value,
    duration: document.querySelector('#f-duration').value,
    expires: document.querySelector('#f-expires').value,
  }));
  assert.deepEqual(filled, { identifier: 'mood-check', readOnly: true, style: 'numeric', duration: '30', expires: '3600' });
  await basics(page, 'color', 'Named: which colour is your mood?', 30);
  await page.fill('#f-colors li:nth-child(3) input', 'blue');
  await page.click('#create-submit');
  assert.match(await visibleError(page, 'prompt.colors[2]').textContent(), /must be a colour like #A1B2C3, got "blue"/);
  await page.fill('#f-colors li:nth-child(3) input', '#2244aa');
  await saved(page, 'mood-check');
  const changed = await api(demo.base, 'GET', '/api/1/interactive_prompts/public/mood-check', demo.adminToken);
  assert.equal(changed.version, 2);
  assert.deepEqual(changed.prompt.colors, ['#3D5A6C', '#E07A5F', '#2244AA']);
  assert.equal(changed.expires_seconds, 3600);

  // A user starts it: its instance is current, opened in the watch view.
  const { user_jwt: user } = await api(demo.base, 'POST', '/api/1/dev/login', null, { name: 'Nia Named' });
  const started = await api(demo.base, 'POST', '/api/1/interactive_prompts/start_public', user, { identifier: 'mood-check' });
  await page.click('#named-refresh');
  const row = `#named-rows tr[data-identifier="mood-check"]`;
  await page.locator(`${row} .open-current`).waitFor();
  assert.equal(await page.textContent(`${row} .open-current`), started.uid);
  assert.equal(await page.textContent(`${row} .version`), '2');
  await page.locator(`${row} .until`).waitFor();
  assert.match(await page.textContent(`${row} .until`), /^until \d{4}-\d\d-\d\d \d\d:\d\d$/);
  assert.deepEqual(await namedRows(page), await namedListed(demo, expiresText), 'the list is the API listing');
  await b.shot('admin-named-list');
  await page.click(`${row} .open-current`);
  await page.locator('#watch-text:not(:empty)').waitFor();
  assert.equal(await page.textContent('#watch-text'), 'Named: which colour is your mood?');
  assert.match(await page.textContent('#watch-meta'), new RegExp(`^${started.uid} · 30 s · `));
  await page.locator('#chart svg').waitFor();
  assert.equal(await page.textContent('#watch-back'), '← Named prompts');
  await page.click('#watch-back');
  await page.locator(`${row} .open-current`).waitFor();

  // Deleted (two clicks): gone from the list and from the API.
  await page.click('#named-rows tr[data-identifier="pick-word"] .delete');
  assert.equal(await page.textContent('#named-rows tr[data-identifier="pick-word"] .delete'), 'Click again to delete');
  await page.click('#named-rows tr[data-identifier="pick-word"] .delete');
  await page.locator('#named-rows tr[data-identifier="pick-word"]').waitFor({ state: 'detached' });
  const response = await fetch(new URL('/api/1/interactive_prompts/public/pick-word', demo.base), {
    headers: { authorization: `bearer ${demo.adminToken}` },
  });
  assert.equal(response.status, 404, 'deleted on the server');
  assert.deepEqual((await namedRows(page)).map((r) => r.identifier), ['hold-on', 'mood-check']);
  await page.click('#nav-prompts');
  await page.locator('#list').waitFor();
}

/** Every flow of the console, in order, in `browser` against `demo`. */
export async function adminConsole(browser, demo) {
  const b = await browser.tab('admin');
  await signIn(b, demo);
  await expectListing(b, demo);
  const uids = await createPrompts(b);
  await serverRefusals(b);
  await namedPrompts(b, demo);
  await watchCrowd(b, demo);
  await watchOwn(b, demo, uids.numeric);
  await downloadCsv(b, demo, uids.numeric);
  await deleteWatched(b, demo, uids.numeric);
  assert.deepEqual(unexpected(browser.problems), []);
}

/** Problems of the page but the refusals the flows provoke on purpose (a wrong token, altered prompts). */
export function unexpected(problems) {
  return problems.filter((p) => !/status of (403|422)/.test(p));
}
