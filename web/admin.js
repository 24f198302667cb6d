// The admin console (docs/console.md): sign in with the admin token, list,
// create and delete prompts, watch one live, and manage named prompts. Everything goes through
// the client package's AdminClient (clients/js, served at /client/), the
// same one operators' scripts use.

import { AdminClient, ForbiddenError, UnauthorizedError, NetworkError } from '/client/index.js';
import { PromptList } from './admin-list.js';
import { CreateForm } from './admin-form.js';
import { Watch } from './admin-watch.js';
import { NamedList } from './admin-named.js';

const $ = (id) => document.getElementById(id);
/** A part of the address, decoded (as typed when it cannot be). */
const decode = (part) => { try { return decodeURIComponent(part); } catch { return part; } };
/** Where the token is kept: this tab's sessionStorage, never localStorage. */
const TOKEN_KEY = 'chorus.admin.token';
const VIEWS = ['signin', 'list', 'named', 'create', 'watch'];

let admin = null;
let list = null;
let form = null;
let watch = null;
let named = null;
/** The list the watch and the form go back to: `#/` or `#/named`. */
let home = '#/';

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
  $('sign-out').hidden = view === 'signin';
  $('nav').hidden = view === 'signin';
  for (const [id, section] of [['nav-prompts', '#/'], ['nav-named', '#/named']]) {
    if (section === home) $(id).setAttribute('aria-current', 'page');
    else $(id).removeAttribute('aria-current');
  }
}

/** An AdminClient for `token`; fetch is looked up at each call. */
function clientFor(token) {
  return new AdminClient({
    baseUrl: location.origin,
    adminToken: token,
    fetch: (...args) => globalThis.fetch(...args),
    retry: { attempts: 2 },
  });
}

/** Why a token cannot be sent, or null: an HTTP header takes printable ASCII. */
function tokenProblem(token) {
  if (!token) return 'Enter the admin token.';
  if (!/^[\x21-\x7e]+$/.test(token)) return 'An admin token is printable ASCII without spaces; this one is not.';
  return null;
}

/** What a refused or failed sign-in says. */
function signInMessage(e) {
  if (e instanceof ForbiddenError) return `The server refused this token: ${e.message}.`;
  if (e instanceof UnauthorizedError) return `The server did not accept this token: ${e.message}.`;
  if (e instanceof NetworkError) return `Could not reach the server: ${e.message}`;
  return `Could not sign in: ${e.message}`;
}

async function signIn(event) {
  event.preventDefault();
  const error = $('token-error');
  const token = $('token').value.trim();
  const problem = tokenProblem(token);
  error.hidden = true;
  if (problem) {
    error.textContent = problem;
    error.hidden = false;
    return;
  }
  const candidate = clientFor(token);
  try {
    // The cheapest admin request: one prompt of the listing.
    await candidate.listPrompts({ limit: 1 });
  } catch (e) {
    error.textContent = signInMessage(e);
    error.hidden = false;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  start(candidate);
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  stopWatching();
  admin = null;
  location.hash = '';
  show('signin');
}

/** The console once signed in. */
function start(client) {
  admin = client;
  if (list) {
    // Signed in again: the same views, the new client.
    list.admin = admin;
    form.admin = admin;
    named.admin = admin;
    route();
    return;
  }
  list = new PromptList(admin, {
    rows: $('prompt-rows'), more: $('more'), error: $('list-error'), empty: $('list-empty'), deleted: $('list-deleted'),
    open: (uid) => { location.hash = `#/prompt/${encodeURIComponent(uid)}`; },
    refused: onRefused,
  });
  form = new CreateForm(admin, $('create-form'), {
    created: (record) => {
      location.hash = '#/';
      list.highlight = record.uid;
    },
    saved: (definition) => {
      named.highlight = definition.identifier;
      location.hash = '#/named';
    },
    refused: onRefused,
  });
  named = new NamedList(admin, {
    rows: $('named-rows'), error: $('named-error'), empty: $('named-empty'),
    open: (uid) => { location.hash = `#/prompt/${encodeURIComponent(uid)}`; },
    edit: (identifier) => { location.hash = `#/named/edit/${encodeURIComponent(identifier)}`; },
    refused: onRefused,
  });
  route();
}

/** The token stopped working (e.g. the server's was changed): sign in again. */
function onRefused(e) {
  signOut();
  $('token-error').textContent = signInMessage(e);
  $('token-error').hidden = false;
}

function stopWatching() {
  if (watch) watch.stop();
  watch = null;
}

/**
 * Shows the view the address names: `#/`, `#/new`, `#/prompt/{uid}`,
 * `#/named`, `#/named/new` or `#/named/edit/{identifier}`.
 */
function route() {
  if (!admin) return;
  stopWatching();
  const hash = location.hash;
  const prompt = /^#\/prompt\/([^/]+)$/.exec(hash);
  const edit = /^#\/named\/edit\/([^/]+)$/.exec(hash);
  if (prompt) {
    show('watch');
    watch = new Watch(admin, decode(prompt[1]), {
      back: () => { location.hash = home; },
      refused: onRefused,
    });
  } else if (hash === '#/new') {
    home = '#/';
    show('create');
    $('create-title').textContent = 'New prompt';
    form.reset();
  } else if (hash === '#/named/new' || edit) {
    home = '#/named';
    show('create');
    const identifier = edit ? decode(edit[1]) : null;
    $('create-title').textContent = identifier === null ? 'New named prompt' : `Named prompt ${identifier}`;
    form.editNamed(identifier);
  } else if (hash === '#/named') {
    home = '#/named';
    show('named');
    named.load();
  } else {
    home = '#/';
    show('list');
    list.load();
  }
  $('create-back').textContent = home === '#/named' ? '← Named prompts' : '← Prompts';
  $('watch-back').textContent = $('create-back').textContent;
}

$('signin-form').addEventListener('submit', (e) => { signIn(e).catch((err) => console.error(err)); });
$('sign-out').addEventListener('click', signOut);
$('new-prompt').addEventListener('click', () => { location.hash = '#/new'; });
$('new-named').addEventListener('click', () => { location.hash = '#/named/new'; });
$('create-back').addEventListener('click', () => { location.hash = home; });
$('watch-back').addEventListener('click', () => { location.hash = home; });
$('refresh').addEventListener('click', () => list && list.load());
$('named-refresh').addEventListener('click', () => named && named.load());
window.addEventListener('hashchange', route);

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved && !tokenProblem(saved)) {
  start(clientFor(saved));
} else {
  show('signin');
  $('token').focus();
}
