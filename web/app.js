// The Chorus web client: pick a prompt, take it, and watch the room.
// It uses only the public HTTP API and the live stream, through the
// client package (clients/js, served at /client/) that apps use too.

import { Client, devLogin, devPrompts } from '/client/index.js';
import { styleLabel } from './controls.js';
import { Take } from './take.js';
import { buildTakeView } from './take-view.js';

const $ = (id) => document.getElementById(id);
buildTakeView($('take'));
let current = null;

function show(view) {
  $('home').hidden = view !== 'home';
  $('take').hidden = view !== 'take';
  window.scrollTo(0, 0);
}

function defaultName() {
  return localStorage.getItem('chorus.name') || `Guest ${100 + Math.floor(Math.random() * 900)}`;
}

/** The name in the form (remembered). */
function currentName() {
  const name = $('name').value.trim() || defaultName();
  localStorage.setItem('chorus.name', name);
  return name;
}

/**
 * The client's source of user tokens: a dev-mode token for `name`, cached
 * per name; a token the server refused is replaced by a fresh one.
 */
function devTokens(name) {
  return async ({ refused }) => {
    const cached = JSON.parse(localStorage.getItem('chorus.user') || 'null');
    if (cached && cached.name === name && cached.expires > Date.now() && cached.jwt !== refused) return cached.jwt;
    const { user_jwt: jwt } = await devLogin(location.origin, name);
    localStorage.setItem('chorus.user', JSON.stringify({ name, jwt, expires: Date.now() + 12 * 3600e3 }));
    return jwt;
  };
}

async function home() {
  if (current) current.stop();
  current = null;
  show('home');
  $('name').value = defaultName();
  const list = $('prompts');
  const error = $('home-error');
  error.hidden = true;
  let prompts;
  try {
    prompts = await devPrompts(location.origin);
  } catch (e) {
    list.replaceChildren();
    error.textContent = e.status === 404
      ? 'This server is not in dev mode, so there is no prompt list or dev login. Run `chorus demo` (or `chorus serve --dev`) to try the web client.'
      : `Could not load the prompts: ${e.message}`;
    error.hidden = false;
    return;
  }
  list.replaceChildren(...prompts.map((p) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'prompt-card';
    b.dataset.style = p.prompt.style;
    b.dataset.uid = p.uid;
    b.innerHTML = '<span class="style-tag"></span><span class="text"></span><span class="meta"><span class="kind"></span><span class="len"></span></span>';
    b.querySelector('.style-tag').textContent = p.prompt.style;
    b.querySelector('.text').textContent = p.prompt.text;
    b.querySelector('.kind').replaceWith(preview(p.prompt));
    b.querySelector('.len').textContent = `${p.duration_seconds} s`;
    b.addEventListener('click', () => take(p.uid).catch(failed));
    li.append(b);
    return li;
  }));
  if (!prompts.length) {
    error.textContent = 'There are no prompts yet. An admin can create some with POST /api/1/interactive_prompts.';
    error.hidden = false;
  }
}

/** A glimpse of a prompt's controls for its card. */
function preview(prompt) {
  const span = document.createElement('span');
  span.className = 'preview';
  if (prompt.style === 'color') {
    for (const c of prompt.colors) {
      const i = document.createElement('i');
      i.style.background = c;
      span.append(i);
    }
  } else {
    span.textContent = prompt.style === 'word' ? prompt.options.join(' · ') : styleLabel(prompt);
  }
  return span;
}

function failed(e) {
  console.error(e);
  const where = $('home').hidden ? $('status') : $('home-error');
  where.textContent = `Something went wrong: ${e.message}`;
  where.hidden = false;
}

let starting = false;

/** Takes one prompt from 0 to its duration (one at a time). */
async function take(promptUid) {
  if (starting) return;
  starting = true;
  try {
    await startTaking(promptUid);
  } finally {
    starting = false;
  }
}

async function startTaking(promptUid) {
  const name = currentName();
  const client = new Client({ baseUrl: location.origin, getUserToken: devTokens(name) });
  const session = await client.startSession(promptUid);
  $('who').textContent = `as ${name}`;
  current = new Take(session, { failed });
  show('take');
  current.begin();
}

$('like').addEventListener('click', () => current && !current.ended && current.like());
$('back').addEventListener('click', () => home());
$('again').addEventListener('click', () => home());
$('name-form').addEventListener('submit', (e) => e.preventDefault());
home();
