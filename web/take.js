// Taking one prompt: the prompt clock from 0 to its duration, the
// controls, the room with a few of the people here (faces.js) and, after
// the end, the chart of the whole prompt.
// Used by the dev page (app.js) and by the participant page of real
// deployments (embed.js), on the take view both pages share.

import { Room, clockText } from './room.js';
import { buildControls, styleLabel } from './controls.js';
import { drawChart } from './chart.js';
import { FACES_SHOWN, Faces } from './faces.js';

const $ = (id) => document.getElementById(id);
const STREAM = { bandwidth: 20, lookback: 1.5, lookahead: 1.5 };

/** Shows an error under the controls. */
export function showError(e) {
  console.error(e);
  $('status').textContent = `Something went wrong: ${e.message}`;
}

/** One participant taking one prompt, from its start to the chart. */
export class Take {
  /**
   * @param session a started session (the client package's)
   * @param hooks `failed(error)` shows an error; `left()` is called once
   *   the participant's `leave` at the end is stored (or refused).
   */
  constructor(session, { failed = showError, left = () => {} } = {}) {
    this.session = session;
    this.failed = failed;
    this.left = left;
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
    $('after').hidden = true;
    $('status').textContent = '';
    $('prompt-style').textContent = styleLabel(this.prompt);
    $('prompt-text').textContent = this.prompt.text;
    this.room = new Room(this.prompt, this.session.sessionUid, {
      users: $('users'), likes: $('likes'), answered: $('answered'), answeredLabel: $('answered-label'),
      distribution: $('distribution'), flow: $('flow'),
    });
    const s = this.session;
    // Who is here, every few seconds: asked on the side, never waited for.
    this.faces = new Faces($('faces'), (t) => s.profilePictures(Math.round(Math.min(t, this.duration) * 1000) / 1000, FACES_SHOWN));
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
      this.failed(e);
      return Promise.resolve();
    }
    return posted.then(() => {
      const bin = this.bins.binOf(t);
      this.fetchStats(bin);
      if (bin + 1 < this.bins.count) this.fetchStats(bin + 1);
    }).catch((e) => this.failed(e));
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
    this.faces.tick(t);
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
    this.left();
    setTimeout(() => this.watcher.stop(), 1500);
    let tl;
    try {
      tl = await this.session.timeline();
    } catch (e) {
      this.failed(e);
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
