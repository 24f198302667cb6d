// The console's view of one prompt, watched live without taking it (a
// prompt token minted for the admin, so no session counts the admin):
// how many are taking it now and the whole prompt's chart, refreshed every
// few seconds; and the room as a viewer sees it — the totals at the
// console's own prompt clock and the flow of events from the live stream
// (history replayed, near-live merged) — round after round. Also the CSV
// download of every event, and deleting the prompt.

import { AuthError } from '/client/index.js';
import { Room, clockText } from './room.js';
import { styleLabel } from './controls.js';
import { drawChart } from './chart.js';
import { confirmClick, when } from './admin-list.js';

/** Seconds between refreshes of the chart and of who is taking it. */
const REFRESH_SECONDS = 3;
/** What the console's stream asks for: enough events to see the room move. */
const STREAM = { bandwidth: 30, lookback: 2, lookahead: 2 };

const $ = (id) => document.getElementById(id);

export class Watch {
  /**
   * @param {import('/client/admin.js').AdminClient} admin
   * @param {string} uid
   * @param {{back: () => void, refused: (e: Error) => void}} on
   */
  constructor(admin, uid, on) {
    this.admin = admin;
    this.uid = uid;
    this.on = on;
    this.stopped = false;
    this.timers = [];
    this.round = null;
    this.clear();
    this.open().catch((e) => this.fail(e));
  }

  clear() {
    for (const id of ['watch-text', 'watch-style', 'watch-meta', 'chart', 'legend', 'flow', 'distribution']) $(id).replaceChildren();
    for (const id of ['taking', 'all-users', 'all-likes', 'all-answered', 'users', 'likes', 'answered']) $(id).textContent = '0';
    $('watch-error').hidden = true;
    $('download-link').hidden = true;
    $('delete').textContent = 'Delete';
    $('delete').disabled = false;
    $('download').disabled = false;
  }

  fail(e) {
    if (this.stopped) return;
    if (e instanceof AuthError) {
      this.on.refused(e);
      return;
    }
    $('watch-error').textContent = e.status === 404 ? `There is no prompt ${this.uid}.` : `Something went wrong: ${e.message}`;
    $('watch-error').hidden = false;
  }

  async open() {
    this.reader = await this.admin.openPrompt(this.uid);
    if (this.stopped) return;
    const r = this.reader;
    $('watch-style').textContent = styleLabel(r.prompt);
    $('watch-text').textContent = r.prompt.text;
    this.showMeta();
    $('all-answered-label').textContent = r.prompt.style === 'press' ? 'presses' : 'with an answer at the end';
    this.withdrawDelete = confirmClick($('delete'), () => this.deleteNow());
    if (r.deletedAt !== null) {
      $('delete').textContent = 'Deleted';
      $('delete').disabled = true;
    }
    $('download').onclick = () => this.download().catch((e) => this.fail(e));
    this.refresh();
    this.every(REFRESH_SECONDS, () => this.refresh());
    this.startRound();
  }

  showMeta() {
    const r = this.reader;
    const deleted = r.deletedAt !== null ? ` · deleted ${when(r.deletedAt)}` : '';
    $('watch-meta').textContent = `${r.promptUid} · ${r.durationSeconds} s · created ${when(r.createdAt)}${deleted}`;
    $('watch').dataset.deleted = String(r.deletedAt !== null);
  }

  every(seconds, fn) {
    this.timers.push(setInterval(fn, seconds * 1000));
  }

  /** Who is taking it now, and the whole prompt's timeline (chart and end totals). */
  async refresh() {
    const r = this.reader;
    const [taking, tl] = await Promise.all([r.takingNow(), r.timeline()]).catch((e) => {
      this.fail(e);
      return [null, null];
    });
    if (this.stopped || tl === null) return;
    $('taking').textContent = String(taking);
    const last = tl.users.length - 1;
    $('all-users').textContent = String(tl.users[last]);
    $('all-likes').textContent = String(tl.likes[last]);
    const answered = r.prompt.style === 'press' ? tl.press[last]
      : r.prompt.style === 'numeric' ? Object.values(tl.numeric_active[last]).reduce((a, b) => a + b, 0)
        : (r.prompt.style === 'color' ? tl.color_active : tl.word_active)[last].reduce((a, b) => a + b, 0);
    $('all-answered').textContent = String(answered);
    drawChart($('chart'), $('legend'), r.prompt, r.durationSeconds, tl, [], { animate: !this.drawn });
    this.drawn = true;
  }

  /** One pass of the console's prompt clock from 0 to the end, then the next. */
  startRound() {
    if (this.stopped) return;
    const r = this.reader;
    const t0 = performance.now();
    const clock = () => (performance.now() - t0) / 1000;
    const room = new Room(r.prompt, null, {
      users: $('users'), likes: $('likes'), answered: $('answered'), answeredLabel: $('answered-label'),
      distribution: $('distribution'), flow: $('flow'),
    }, { pictures: false }); // the console's policy loads no other site's images: initials only
    const watcher = r.watch({ ...STREAM, clock });
    watcher.on('events', (items) => room.addEvents(items));
    watcher.on('status', (s) => { $('flow').dataset.state = s.state; });
    const round = { clock, room, watcher, stats: new Map(), seq: new Map(), bin: -1 };
    this.round = round;
    // Names travel on join events: learn those already stored.
    r.search({ filters: { evtype: { operator: 'eq', value: 'join' } }, limit: 1000 })
      .then((page) => room.learnNames(page.items)).catch(() => {});
    const frame = () => {
      if (this.stopped || this.round !== round) return;
      this.frame(round);
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  frame(round) {
    const r = this.reader;
    const t = Math.min(r.durationSeconds, round.clock());
    const bin = r.bins.binOf(t);
    if (bin !== round.bin) {
      round.bin = bin;
      this.fetchStats(round, bin);
      if (bin + 1 < r.bins.count) this.fetchStats(round, bin + 1);
    }
    const f = Math.min(1, t / r.bins.width - bin);
    round.room.frame(round.stats.get(bin) || round.stats.get(bin - 1), round.stats.get(bin + 1), f);
    round.room.tick(t);
    $('watch-clock').textContent = clockText(t);
    $('watch-progress').style.width = `${((t / r.durationSeconds) * 100).toFixed(2)}%`;
    if (t >= r.durationSeconds) {
      round.watcher.stop();
      this.round = null;
      this.startRound();
    }
  }

  /** The totals through `bin`, keeping only the newest answer. */
  fetchStats(round, bin) {
    const seq = (round.seq.get(bin) || 0) + 1;
    round.seq.set(bin, seq);
    this.reader.stats(bin).then((s) => {
      if (round.seq.get(bin) === seq) round.stats.set(bin, s);
    }).catch(() => {});
  }

  /** Every event of the prompt as CSV (the admin export), saved as a file. */
  async download() {
    const button = $('download');
    button.disabled = true;
    try {
      const response = await this.admin.exportEvents(this.uid, 'csv');
      const blob = await response.blob();
      const link = $('download-link');
      if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(blob);
      link.download = `${this.uid}.csv`;
      link.textContent = `${this.uid}.csv (${blob.size.toLocaleString()} bytes)`;
      link.hidden = false;
      link.click();
    } finally {
      button.disabled = false;
    }
  }

  /** Deletes the prompt (its button's second click). */
  async deleteNow() {
    const button = $('delete');
    if (this.reader.deletedAt !== null) return;
    button.disabled = true;
    try {
      const record = await this.admin.deletePrompt(this.uid);
      this.reader.deletedAt = record.deleted_at;
      this.showMeta();
      button.textContent = 'Deleted';
    } catch (e) {
      button.disabled = false;
      this.fail(e);
    }
  }

  stop() {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.withdrawDelete) this.withdrawDelete();
    if (this.round) this.round.watcher.stop();
    this.round = null;
    const link = $('download-link');
    if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
    link.removeAttribute('href');
  }
}
