// The Chorus web client: pick a prompt, take it, and watch the room.
// It uses only the public HTTP API and the live stream, through the
// client package (clients/js, served at /client/) that apps use too.

import { Client, devLogin, devPrompts } from '/client/index.js';
import { Room, clockText } from './room.js';
import { buildControls, styleLabel } from './controls.js';
import { drawChart } from './chart.js';

const $ = (id) => document.getElementById(id);
const STREAM = { bandwidth: 20, lookback: 1.5, lookahead: 1.5 };
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
  current = new Take(session);
  current.begin();
}

class Take {
  constructor(session) {
    this.session = session;
    this.prompt = session.prompt;
    this.duration = session.durationSeconds;
    this.bins = session.bins;
    this.stats = new Map();
    this.statsSeq = new Map();
    this.mine = [];
    this.ended = false;
    this.stopped = false;
  }

  clock() {
    return Math.min(this.duration, (performance.now() - this.t0) / 1000);
  }

  begin() {
    show('take');
    $('after').hidden = true;
    $('status').textContent = '';
    $('prompt-style').textContent = styleLabel(this.prompt);
    $('prompt-text').textContent = this.prompt.text;
    this.room = new Room(this.prompt, this.session.sessionUid, {
      users: $('users'), likes: $('likes'), answered: $('answered'), answeredLabel: $('answered-label'),
      distribution: $('distribution'), flow: $('flow'),
    });
    const s = this.session;
    this.controls = buildControls($('controls'), this.prompt, {
      choose: (i) => this.choose(i),
      press: (down) => { if (!this.ended) this.send((t) => (down ? s.pressStart(t) : s.pressEnd(t))); },
    });
    $('like').disabled = false;
    this.t0 = performance.now();
    this.send((t) => s.join(t), 0).then(() => this.controls.setEnabled(true));
    this.controls.setEnabled(false);
    // Names travel only on join events; look up those already stored so
    // that replayed answers show who gave them.
    s.search({ filters: { evtype: { operator: 'eq', value: 'join' } }, limit: 1000 })
      .then((page) => this.room.learnNames(page.items)).catch(() => {});
    // The stream's events, each when the prompt clock reaches it. Our own
    // events come from their 201 bodies (the package hands them to the
    // watch): the stream may thin them away like anyone's when the room
    // is busier than our bandwidth, since it cannot tell whose viewer we
    // are; its copies are dropped.
    this.watcher = s.watch({ ...STREAM, clock: () => (performance.now() - this.t0) / 1000 });
    this.watcher.on('events', (items) => this.room.addEvents(items));
    this.frame = this.frame.bind(this);
    requestAnimationFrame(this.frame);
  }

  /**
   * Posts an event at `at` (the clock's time by default) with `post(t)`,
   * one of the session's calls; the package sends a session's events in
   * order and retries them safely. Refreshes the totals once stored.
   */
  send(post, at = this.clock()) {
    const t = Math.round(at * 1000) / 1000;
    let posted;
    try {
      posted = post(t);
    } catch (e) {
      failed(e);
      return Promise.resolve();
    }
    return posted.then(() => {
      const bin = this.bins.binOf(t);
      this.fetchStats(bin);
      if (bin + 1 < this.bins.count) this.fetchStats(bin + 1);
    }).catch(failed);
  }

  choose(index) {
    const t = this.clock();
    const answer = this.prompt.style === 'numeric' ? this.prompt.min + index : index;
    this.mine.push({ t, index });
    this.room.setMine(index);
    this.send((at) => this.session.respond(at, answer), t);
  }

  like() {
    const b = $('like');
    b.classList.remove('pop');
    void b.offsetWidth;
    b.classList.add('pop');
    this.send((t) => this.session.like(t));
  }

  /** Fetches the stats of `bin`, keeping only the newest answer. */
  fetchStats(bin) {
    const seq = (this.statsSeq.get(bin) || 0) + 1;
    this.statsSeq.set(bin, seq);
    this.session.stats(bin).then((s) => {
      if (this.statsSeq.get(bin) === seq) this.stats.set(bin, s);
    }).catch(() => {});
  }

  frame() {
    if (this.stopped) return;
    const t = this.clock();
    const bin = this.bins.binOf(t);
    if (bin !== this.bin) {
      this.bin = bin;
      if (!this.stats.has(bin)) this.fetchStats(bin);
      if (bin + 1 < this.bins.count) this.fetchStats(bin + 1);
    }
    const f = Math.min(1, t / this.bins.width - bin);
    this.room.frame(this.stats.get(bin) || this.stats.get(bin - 1), this.stats.get(bin + 1), f);
    this.room.tick(t);
    $('remaining').textContent = clockText(Math.ceil(this.duration - t));
    $('progress-bar').style.width = `${((t / this.duration) * 100).toFixed(2)}%`;
    if (t >= this.duration && !this.ended) this.end();
    requestAnimationFrame(this.frame);
  }

  /** Leaves at the end, then draws the whole prompt. */
  async end() {
    this.ended = true;
    this.controls.setEnabled(false);
    $('like').disabled = true;
    if (this.controls.pressing) this.send((t) => this.session.pressEnd(t), this.duration);
    await this.send((t) => this.session.leave(t), this.duration);
    $('status').textContent = 'Done. Thank you!';
    setTimeout(() => this.watcher.stop(), 1500);
    let tl;
    try {
      tl = await this.session.timeline();
    } catch (e) {
      failed(e);
      return;
    }
    if (this.stopped) return;
    $('after').hidden = false;
    drawChart($('chart'), $('legend'), this.prompt, this.duration, tl, this.mine);
    $('after').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  }

  stop() {
    this.stopped = true;
    this.watcher.stop();
    if (!this.ended) {
      if (this.controls.pressing) this.send((t) => this.session.pressEnd(t));
      this.send((t) => this.session.leave(t));
    }
  }
}

$('like').addEventListener('click', () => current && !current.ended && current.like());
$('back').addEventListener('click', () => home());
$('again').addEventListener('click', () => home());
$('name-form').addEventListener('submit', (e) => e.preventDefault());
home();
