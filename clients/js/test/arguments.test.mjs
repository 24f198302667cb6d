// Bad arguments throw InvalidArgumentError synchronously, before anything
// is queued or sent: the fetch and WebSocket given here fail the test if
// they are ever called.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, InvalidArgumentError, ChorusError, binning, startClock, devLogin } from '../src/index.js';

const requests = [];
const fetchSpy = async (url) => { requests.push(url); throw new Error('no request may be made'); };
class SocketSpy { constructor(url) { requests.push(url); throw new Error('no socket may be opened'); } }

const client = new Client({ baseUrl: 'http://127.0.0.1:9', getUserToken: () => 'token', fetch: fetchSpy, WebSocket: SocketSpy });
const started = (prompt, duration_seconds = 30) => ({ uid: 'ip_x', jwt: 'j', session_uid: 'ips_x', prompt, duration_seconds });
const numeric = client.resumeSession(started({ style: 'numeric', text: 'n', min: 1, max: 10, step: 1 }));
const color = client.resumeSession(started({ style: 'color', text: 'c', colors: ['#000000', '#FFFFFF'] }));
const word = client.resumeSession(started({ style: 'word', text: 'w', options: ['a', 'b', 'c'] }));
const press = client.resumeSession(started({ style: 'press', text: 'p' }));

/** Asserts `call` throws an InvalidArgumentError at once, mentioning `what`. */
function refused(call, what) {
  assert.throws(call, (e) => e instanceof InvalidArgumentError && e instanceof ChorusError
    && e.type === 'invalid_argument' && what.test(e.message), `expected an InvalidArgumentError matching ${what}`);
}

test('a client needs a server URL, a token callback and sound options', () => {
  refused(() => new Client(), /options/);
  refused(() => new Client({ baseUrl: 'http://x' }), /getUserToken/);
  refused(() => new Client({ baseUrl: [], getUserToken: () => 't' }), /baseUrl/);
  refused(() => new Client({ baseUrl: 'not a url', getUserToken: () => 't' }), /absolute/);
  refused(() => new Client({ baseUrl: 'ftp://x', getUserToken: () => 't' }), /http/);
  refused(() => new Client({ baseUrl: 'http://x', getUserToken: () => 't', retry: { attempts: 0 } }), /attempts/);
  refused(() => new Client({ baseUrl: 'http://x', getUserToken: () => 't', timeoutMs: -1 }), /timeoutMs/);
  refused(() => new Client({ baseUrl: 'http://x', getUserToken: () => 't', WebSocket: 'ws' }), /WebSocket/);
  assert.deepEqual(new Client({ baseUrl: ['http://a:1', 'https://b/chorus'], getUserToken: () => 't' }).baseUrls,
    ['http://a:1/', 'https://b/chorus/'], 'a path prefix is kept');
});

test('an event at a non-finite, negative or too late prompt time is refused', () => {
  for (const t of [NaN, Infinity, -Infinity, -0.001, 30.001, '3', null, undefined]) {
    refused(() => numeric.like(t), /prompt time/);
  }
  refused(() => numeric.join(NaN), /prompt time/);
  refused(() => numeric.leave(), /prompt time/);
  refused(() => numeric.post('clap', 1, {}), /unknown event type/);
});

test('a response must suit the prompt: its style, and a rating or index in range', () => {
  refused(() => numeric.respondNumeric(1, 0), /rating/);
  refused(() => numeric.respondNumeric(1, 11), /rating/);
  refused(() => numeric.respondNumeric(1, 2.5), /rating/);
  refused(() => numeric.respond(1, '5'), /rating/);
  refused(() => numeric.respondColor(1, 0), /style is numeric/);
  refused(() => numeric.pressStart(1), /style is numeric/);
  refused(() => color.respondColor(1, 2), /index/);
  refused(() => color.respond(1, -1), /index/);
  refused(() => word.respondWord(1, 3), /index/);
  refused(() => word.respondWord(1, 1.5), /index/);
  refused(() => press.respond(1, 0), /pressStart/);
  refused(() => press.respondWord(1, 0), /style is press/);
});

test('stats take a whole bin of the prompt, search an object', () => {
  refused(() => numeric.stats(-1), /bin/);
  refused(() => numeric.stats(1.5), /bin/);
  refused(() => numeric.stats(numeric.bins.count + 1), /bin/);
  refused(() => numeric.stats('1'), /bin/);
  refused(() => numeric.search([]), /object/);
  refused(() => numeric.search('evtype=join'), /object/);
});

test('a watch needs a bandwidth of 1 to 5000, windows of 0 to 10 s and a clock function', () => {
  for (const bandwidth of [0, 5001, 2.5, '50', NaN]) refused(() => numeric.watch({ bandwidth }), /bandwidth/);
  for (const lookback of [-1, 10.5, NaN, '1']) refused(() => numeric.watch({ lookback }), /lookback/);
  for (const lookahead of [-0.1, 11, Infinity]) refused(() => numeric.watch({ lookahead }), /lookahead/);
  refused(() => numeric.watch({ replay: 'yes' }), /replay/);
  refused(() => numeric.watch({ clock: 3 }), /clock/);
  refused(() => numeric.watch({ maxDrift: 0 }), /maxDrift/);
  refused(() => numeric.watch(null), /options/);
  const noSocket = new Client({ baseUrl: 'http://x', getUserToken: () => 't', fetch: fetchSpy });
  if (typeof globalThis.WebSocket !== 'function') {
    refused(() => noSocket.resumeSession(numeric.toJSON()).watch(), /WebSocket/);
  }
});

test('sessions, clocks and bins are checked too', () => {
  refused(() => client.startSession(''), /promptUid/);
  refused(() => client.startSession(42), /promptUid/);
  refused(() => client.resumeSession({ uid: 'ip_x' }), /started session/);
  refused(() => client.resumeSession(started({ style: 'numeric' }, 0)), /started session/);
  refused(() => startClock(NaN), /finite/);
  refused(() => binning(0), /duration/);
  refused(() => devLogin('http://x', ' '), /name/);
});

test('none of the refused calls made a request or opened a socket', () => {
  assert.deepEqual(requests, []);
});

test('binning follows the rules: 2^ceil(log2 d) − 1 bins, the last bin takes the end', () => {
  assert.equal(binning(1).count, 1);
  assert.equal(binning(2).count, 1);
  assert.equal(binning(30).count, 31);
  assert.equal(binning(32).count, 31);
  assert.equal(binning(33).count, 63);
  const b = binning(30);
  assert.equal(b.binOf(0), 0);
  assert.equal(b.binOf(30), 30);
  assert.equal(b.binOf(29.99), 30);
  assert.equal(b.binOf(15), 15);
});
