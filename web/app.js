// The Chorus web client: pick a prompt, take it, and watch the room.
// It uses only the public HTTP API and the live stream.

import * as api from './api.js';
import { LiveStream } from './stream.js';
import { Room, clockText } from './room.js';
import { buildControls, styleLabel } from './controls.js';
import { drawChart } from './chart.js';

const $ = (id) => document.getElementById(id);
const ROUTES = { numeric: 'respond_numeric_prompt', color: 'respond_color_prompt', word: 'respond_word_prompt' };
let current = null;

function show(view) {
  $('home').hidden = view !== 'home';
  $('take').hidden = view !== 'take';
  window.scrollTo(0, 0);
}

function defaultName() {
  return localStorage.getItem('chorus.name') || `Guest ${100 + Math.floor(Math.random() * 900)}`;
}

/** A dev-mode user token for the name in the form (cached per name). */
async function userToken() {
  const name = $('name').value.trim() || defaultName();
  localStorage.setItem('chorus.name', name);
  const cached = JSON.parse(localStorage.getItem('chorus.user') || 'null');
  if (cached && cached.name === name && cached.expires > Date.now()) return cached.jwt;
  const jwt = await api.devLogin(name);
  localStorage.setItem('chorus.user', JSON.stringify({ name, jwt, expires: Date.now() + 12 * 3600e3 }));
  return jwt;
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
    prompts = await api.listPrompts();
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
  let user = await userToken();
  let session;
  try {
    session = await api.startSession(user, promptUid);
  } catch (e) {
    if (e.status !== 401 && e.status !== 403) throw e;
    localStorage.removeItem('chorus.user');
    user = await userToken();
    session = await api.startSession(user, promptUid);
  }
  $('who').textContent = `as ${localStorage.getItem('chorus.name')}`;
  current = new Take(user, session);
  current.begin();
}

class Take {
  constructor(user, session) {
    this.session = session;
    this.prompt = session.prompt;
    this.duration = session.duration_seconds;
    this.bins = api.binning(this.duration);
    this.queue = new api.EventQueue(user, session);
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
    this.room = new Room(this.prompt, this.session.session_uid, {
      users: $('users'), likes: $('likes'), answered: $('answered'), answeredLabel: $('answered-label'),
      distribution: $('distribution'), flow: $('flow'),
    });
    this.controls = buildControls($('controls'), this.prompt, {
      choose: (i) => this.choose(i),
      press: (down) => { if (!this.ended) this.send(down ? 'respond_press_prompt/start' : 'respond_press_prompt/end'); },
    });
    $('like').disabled = false;
    this.t0 = performance.now();
    this.send('join', 0).then(() => this.controls.setEnabled(true));
    this.controls.setEnabled(false);
    // Names travel only on join events; look up those already stored so
    // that replayed answers show who gave them.
    api.search(this.session, { filters: { evtype: { operator: 'eq', value: 'join' } }, limit: 1000 })
      .then((page) => this.room.learnNames(page.items)).catch(() => {});
    this.stream = new LiveStream(this.session, () => (performance.now() - this.t0) / 1000, (items) => this.room.addEvents(items));
    this.frame = this.frame.bind(this);
    requestAnimationFrame(this.frame);
  }

  /** Posts an event now (in order); refreshes the totals once stored. */
  send(route, at = this.clock(), data = {}) {
    const t = Math.round(at * 1000) / 1000;
    return this.queue.post(route, t, data).then((stored) => {
      // Our own answers show at once, from the 201 body: the stream may
      // thin them away like anyone's when the room is busier than our
      // bandwidth (it cannot tell whose viewer we are); its copy is dropped.
      if (stored && this.stream) this.stream.own(stored);
      const bin = this.bins.binOf(t);
      this.fetchStats(bin);
      if (bin + 1 < this.bins.count) this.fetchStats(bin + 1);
    }).catch(failed);
  }

  choose(index) {
    const t = this.clock();
    const data = this.prompt.style === 'numeric' ? { rating: this.prompt.min + index } : { index };
    this.mine.push({ t, index });
    this.room.setMine(index);
    this.send(ROUTES[this.prompt.style], t, data);
  }

  like() {
    const b = $('like');
    b.classList.remove('pop');
    void b.offsetWidth;
    b.classList.add('pop');
    this.send('like');
  }

  /** Fetches the stats of `bin`, keeping only the newest answer. */
  fetchStats(bin) {
    const seq = (this.statsSeq.get(bin) || 0) + 1;
    this.statsSeq.set(bin, seq);
    api.stats(this.session, bin).then((s) => {
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
    if (this.controls.pressing) this.send('respond_press_prompt/end', this.duration);
    await this.send('leave', this.duration);
    $('status').textContent = 'Done. Thank you!';
    setTimeout(() => this.stream.close(), 1500);
    let tl;
    try {
      tl = await api.timeline(this.session);
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
    this.stream.close();
    if (!this.ended) {
      if (this.controls.pressing) this.send('respond_press_prompt/end');
      this.send('leave');
    }
  }
}

$('like').addEventListener('click', () => current && !current.ended && current.like());
$('back').addEventListener('click', () => home());
$('again').addEventListener('click', () => home());
$('name-form').addEventListener('submit', (e) => e.preventDefault());
home();
