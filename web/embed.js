// The participant page of real deployments, `/p/{prompt_uid}`: one prompt
// taken by a user of the host app, standalone or in the host's <iframe>.
// The user token comes from the host — a `{type: 'chorus:token', token}`
// message from an origin the server allows (`--embed-origin`), or the URL
// fragment `#token=…` — and the page tells the host when it needs a token
// (`chorus:token-needed`) and when the participant is done
// (`chorus:finished`). See docs/web-client.md and docs/integrate.md.

import { Client, AuthError, NotFoundError } from '/client/index.js';
import { Take, showError } from './take.js';
import { buildTakeView } from './take-view.js';

const $ = (id) => document.getElementById(id);
buildTakeView($('take'), { list: false });

/** The origins the server allows to hand over tokens (from its page). */
const ALLOWED = ($meta('chorus-embed-origins') || '').split(' ').filter(Boolean);
/** A JWT's shape: three base64url parts. */
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Longest token accepted (tokens are a few hundred bytes to a few KiB). */
const MAX_TOKEN = 16 * 1024;

function $meta(name) {
  const meta = document.querySelector(`meta[name="${name}"]`);
  return meta && meta.getAttribute('content');
}

const promptUid = decodeURIComponent(location.pathname.split('/').pop() || '');

/** The latest token the host handed over, and who is waiting for a new one. */
const tokens = { current: null, hostOrigin: null, waiting: [] };

/** Takes a token from the host; wakes whoever waits for a new one. */
function give(token, origin) {
  tokens.current = token;
  if (origin) tokens.hostOrigin = origin;
  const ready = tokens.waiting.filter((w) => w.refused !== token);
  tokens.waiting = tokens.waiting.filter((w) => w.refused === token);
  for (const w of ready) w.resolve(token);
}

/** A `chorus:token` message from an allowed origin; anything else is ignored. */
window.addEventListener('message', (e) => {
  if (!ALLOWED.includes(e.origin)) return;
  if (e.source !== window.parent && e.source !== window.opener) return;
  const d = e.data;
  if (!d || typeof d !== 'object' || d.type !== 'chorus:token') return;
  if (typeof d.token !== 'string' || d.token.length > MAX_TOKEN || !JWT.test(d.token)) return;
  give(d.token, e.origin);
});

/** A token from the fragment (`#token=…`), removed from the address bar. */
function tokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (!params.has('token')) return;
  history.replaceState(history.state, '', location.pathname + location.search);
  if (token && token.length <= MAX_TOKEN && JWT.test(token)) give(token, null);
}

/** The host's window: the parent frame, or the window that opened this one. */
function host() {
  if (window.parent !== window) return window.parent;
  return window.opener || null;
}

/**
 * The host's origin, when the page knows it: the origin of its last
 * token, else what the browser says of the parent (if allowed). Framed
 * pages can only have allowed parents (`frame-ancestors`), so there `*`
 * reaches the right window too; an opener must be known.
 */
function hostOrigin() {
  if (tokens.hostOrigin) return tokens.hostOrigin;
  const candidates = [location.ancestorOrigins && location.ancestorOrigins[0]];
  try { candidates.push(document.referrer && new URL(document.referrer).origin); } catch { /* no referrer */ }
  const known = candidates.find((o) => o && ALLOWED.includes(o));
  if (known) return known;
  return window.parent !== window && ALLOWED.length ? '*' : null;
}

/** Posts `{type, ...more}` to the host, if there is one; true if sent. */
function tell(type, more = {}) {
  const target = host();
  const origin = hostOrigin();
  if (!target || !origin) return false;
  target.postMessage({ type, ...more }, origin);
  return true;
}

/**
 * The client's `getUserToken`: the host's token, or — when there is none
 * yet or the server refused it — a new one asked for with
 * `chorus:token-needed`, waited for as long as it takes.
 */
function userToken({ refused }) {
  if (tokens.current && tokens.current !== refused) return Promise.resolve(tokens.current);
  return new Promise((resolve) => {
    tokens.waiting.push({ refused: refused ?? null, resolve });
    if (tell('chorus:token-needed', { prompt_uid: promptUid })) say('Waiting for sign-in…');
    else if (tokens.current === null) say('No sign-in was given: open this prompt from the app.');
    else say('Your sign-in has expired: open this prompt again from the app.');
  });
}

function say(text) {
  const status = $('embed-status');
  status.textContent = text;
  status.hidden = !text;
}

/** Starts a session (asking again while the host's tokens are refused), then takes the prompt. */
async function start() {
  const client = new Client({ baseUrl: location.origin, getUserToken: userToken });
  let session;
  for (;;) {
    try {
      session = await client.startSession(promptUid);
      break;
    } catch (e) {
      if (e instanceof NotFoundError) return say('This prompt does not exist (any more).');
      if (!(e instanceof AuthError)) return say(`Could not start: ${e.message}`);
      // Refused again after a fresh token: ask once more, not at once.
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  say('');
  $('take').hidden = false;
  const take = new Take(session, {
    failed: showError,
    left: () => tell('chorus:finished', { prompt_uid: promptUid, session_uid: session.sessionUid }),
  });
  $('like').addEventListener('click', () => !take.ended && take.like());
  take.begin();
}

tokenFromFragment();
start().catch((e) => {
  console.error(e);
  say(`Something went wrong: ${e.message}`);
});
