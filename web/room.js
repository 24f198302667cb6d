// The room: live totals for the current moment, interpolated smoothly
// between stats bins, and the flow of everyone's events at their prompt
// times, each with its person's face (faces.js).

import { choices } from './controls.js';
import { face } from './faces.js';

const FLOW_ITEMS = 30;
const SMOOTHING_SECONDS = 0.18;

/** The numbers of one stats answer, as a flat vector the room can interpolate. */
function vector(prompt, s) {
  let parts;
  let answered;
  if (prompt.style === 'numeric') {
    parts = Object.keys(s.numeric_active).sort((a, b) => a - b).map((k) => s.numeric_active[k]);
    answered = parts.reduce((x, y) => x + y, 0);
  } else if (prompt.style === 'press') {
    parts = [s.press_active];
    answered = s.press;
  } else {
    parts = prompt.style === 'color' ? s.color_active : s.word_active;
    answered = parts.reduce((x, y) => x + y, 0);
  }
  return [s.users, s.likes, answered, ...parts];
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** `m:ss` */
export function clockText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export class Room {
  /**
   * @param prompt the prompt
   * @param sessionUid the participant's own session (null for a watcher)
   * @param dom the elements the room fills
   * @param options `pictures: false` shows initials only (a page whose
   *   policy loads no other site's images)
   */
  constructor(prompt, sessionUid, dom, { pictures = true } = {}) {
    this.prompt = prompt;
    this.pictures = pictures;
    this.sessionUid = sessionUid;
    this.dom = dom;
    this.options = choices(prompt);
    this.shown = null;
    this.mine = null;
    this.pending = [];
    this.names = new Map();
    this.lastFrame = performance.now();
    this.buildDistribution();
    dom.answeredLabel.textContent = prompt.style === 'press' ? 'presses' : 'answered';
    dom.flow.replaceChildren();
  }

  buildDistribution() {
    const box = this.dom.distribution;
    box.replaceChildren();
    box.className = 'distribution';
    this.cells = [];
    if (this.prompt.style === 'press') {
      const meter = el('div', 'pressing-meter');
      this.pulse = el('div', 'pulse');
      const text = el('div');
      this.pressing = el('span', 'num', '0');
      this.pressing.id = 'pressing';
      text.append(this.pressing, el('span', 'label', 'pressing now'));
      const pulseBox = el('div', 'pulse-box');
      pulseBox.append(this.pulse);
      meter.append(pulseBox, text);
      box.append(meter);
      return;
    }
    if (this.prompt.style === 'numeric') box.classList.add('histogram');
    this.options.forEach((o, i) => {
      if (this.prompt.style === 'numeric') {
        const col = el('div', 'col');
        const count = el('span', 'count', '0');
        const bar = el('div', 'bar');
        bar.style.background = o.color;
        col.dataset.index = i;
        col.append(count, bar, el('span', 'name', o.label));
        box.append(col);
        this.cells.push({ row: col, count, bar });
      } else {
        const row = el('div', 'bar-row');
        row.dataset.index = i;
        const name = el('span', 'name', this.prompt.style === 'color' ? '' : o.label);
        if (this.prompt.style === 'color') {
          const sw = el('span', 'sw');
          sw.style.cssText = `display:inline-block;width:56px;height:14px;border-radius:5px;background:${o.color}`;
          name.append(sw);
        }
        const track = el('div', 'bar-track');
        const bar = el('div', 'bar-fill');
        bar.style.background = o.color;
        track.append(bar);
        const count = el('span', 'count', '0');
        row.append(name, track, count);
        box.append(row);
        this.cells.push({ row, count, bar });
      }
    });
  }

  /** Marks the participant's own current choice. */
  setMine(index) {
    this.mine = index;
    this.cells.forEach((c, i) => c.row.classList.toggle('mine', i === index));
  }

  /**
   * Shows the totals between bin answers `from` and `to` (the next bin),
   * `f` of the way through; the shown numbers ease toward them each frame.
   */
  frame(from, to, f) {
    const now = performance.now();
    const dt = (now - this.lastFrame) / 1000;
    this.lastFrame = now;
    if (!from) return;
    const a = vector(this.prompt, from);
    const b = to ? vector(this.prompt, to) : a;
    const target = a.map((x, i) => x + (b[i] - x) * f);
    if (!this.shown) this.shown = target;
    const k = 1 - Math.exp(-dt / SMOOTHING_SECONDS);
    this.shown = this.shown.map((x, i) => x + (target[i] - x) * k);
    this.render(this.shown);
  }

  render(v) {
    const [users, likes, answered, ...parts] = v.map((x) => Math.max(0, x));
    const round = (x) => String(Math.round(x));
    this.dom.users.textContent = round(users);
    this.dom.likes.textContent = round(likes);
    this.dom.answered.textContent = round(answered);
    if (this.prompt.style === 'press') {
      this.pressing.textContent = round(parts[0]);
      const share = users > 0 ? Math.min(1, parts[0] / users) : 0;
      this.pulse.style.transform = `scale(${(0.3 + share * 0.7).toFixed(3)})`;
      this.pulse.style.opacity = (0.2 + share * 0.7).toFixed(3);
      return;
    }
    const max = Math.max(1, ...parts);
    const total = Math.max(1, parts.reduce((x, y) => x + y, 0));
    this.cells.forEach((c, i) => {
      c.count.textContent = round(parts[i]);
      if (this.prompt.style === 'numeric') c.bar.style.height = `${((parts[i] / max) * 100).toFixed(2)}%`;
      else c.bar.style.width = `${((parts[i] / total) * 100).toFixed(2)}%`;
    });
  }

  /** Remembers display names from join/leave events. */
  learnNames(items) {
    for (const e of items) {
      if ((e.evtype === 'join' || e.evtype === 'leave') && e.data && e.data.name) this.names.set(e.session_uid, e.data.name);
    }
  }

  /** Queues events from the stream; each is shown when its time comes. */
  addEvents(items) {
    this.learnNames(items);
    this.pending.push(...items);
    this.pending.sort((x, y) => x.prompt_time - y.prompt_time);
  }

  /** Shows the events whose prompt time has come (late ones at once). */
  tick(t) {
    let n = 0;
    while (n < this.pending.length && this.pending[n].prompt_time <= t) n++;
    if (!n) return;
    const due = this.pending.splice(0, n);
    for (const e of due) this.dom.flow.prepend(this.item(e));
    while (this.dom.flow.children.length > FLOW_ITEMS) this.dom.flow.lastElementChild.remove();
  }

  item(e) {
    const me = e.session_uid === this.sessionUid;
    const name = me ? 'You' : this.names.get(e.session_uid) || 'Someone';
    const li = el('li', me ? 'me' : '');
    li.dataset.evtype = e.evtype;
    li.dataset.sub = e.user_sub;
    const avatar = face(this.names.get(e.session_uid) || name, e.user_sub || e.session_uid, this.pictures ? e.icon : null);
    const who = el('span', 'who-name', name);
    const what = el('span', 'what');
    const index = e.data && (e.data.index ?? (e.data.rating !== undefined ? e.data.rating - this.prompt.min : undefined));
    const option = this.options && index !== undefined ? this.options[index] : null;
    switch (e.evtype) {
      case 'join': what.textContent = 'joined'; break;
      case 'leave': what.textContent = 'left'; break;
      case 'like': what.textContent = 'liked this moment ♥'; break;
      case 'press_prompt_start_response': what.textContent = 'started pressing'; break;
      case 'press_prompt_end_response': what.textContent = 'let go'; break;
      case 'color_prompt_response': {
        what.textContent = 'picked ';
        const sw = el('span', 'sw');
        if (option) sw.style.background = option.color;
        what.append(sw);
        break;
      }
      default: {
        what.textContent = e.evtype === 'numeric_prompt_response' ? 'rated ' : 'chose ';
        what.append(el('span', 'tag', option ? option.label : '?'));
      }
    }
    li.append(avatar, who, what, el('span', 't', clockText(e.prompt_time)));
    return li;
  }
}
