// The chart shown after the end: the totals over the whole prompt, from the
// timeline endpoint, drawn as an inline SVG (no chart library).

import { choices } from './controls.js';
import { clockText } from './room.js';

const NS = 'http://www.w3.org/2000/svg';
const H = 290;
const LIKE_COLOR = '#c9577a';
const PAD = { left: 40, right: 12, top: 12 };
const MAIN_BOTTOM = H - 74;
const LIKES_TOP = H - 62;
const LIKES_BOTTOM = H - 30;

function svg(tag, attrs = {}, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.append(e);
  return e;
}

/** Per bin, the counts of each series, and how to colour and name them. */
function seriesOf(prompt, tl) {
  if (prompt.style === 'press') {
    return { kind: 'press', pressing: tl.press_active, users: tl.users };
  }
  const opts = choices(prompt);
  let rows;
  if (prompt.style === 'numeric') {
    rows = tl.numeric_active.map((m) => Object.keys(m).sort((a, b) => a - b).map((k) => m[k]));
  } else {
    rows = prompt.style === 'color' ? tl.color_active : tl.word_active;
  }
  return { kind: 'shares', rows, options: opts };
}

function pathOf(points) {
  return points.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
}

/**
 * Draws the timeline `tl` of `prompt` into `container` (and its legend into
 * `legend`); `mine` lists the participant's own answers as `{t, index}`.
 * It is revealed left to right, unless `animate` is false (a redraw).
 */
export function drawChart(container, legend, prompt, duration, tl, mine, { animate = true } = {}) {
  // One unit per CSS pixel, so the labels keep their size on a phone.
  const W = Math.max(320, Math.min(1000, Math.round(container.clientWidth || 720)));
  const x = (t) => PAD.left + (t / duration) * (W - PAD.left - PAD.right);
  const centers = tl.users.map((_, b) => (b + 0.5) * tl.bin_width);
  const ts = [0, ...centers, duration];
  const at = (arr, i) => arr[Math.max(0, Math.min(arr.length - 1, i - 1))];
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Totals over the whole prompt' });
  const defs = svg('defs', {}, root);
  const clip = svg('clipPath', { id: 'reveal' }, defs);
  const reveal = svg('rect', { x: 0, y: 0, width: 0, height: H }, clip);
  const plot = svg('g', { 'clip-path': 'url(#reveal)' }, root);
  const s = seriesOf(prompt, tl);
  const yMain = (f) => MAIN_BOTTOM - f * (MAIN_BOTTOM - PAD.top);
  const items = [];

  if (s.kind === 'shares') {
    const n = s.options.length;
    const lower = ts.map(() => 0);
    // Shares of a handful of answers say little: leave bins with few answers blank.
    const totals = s.rows.map((row) => row.reduce((a, b) => a + b, 0));
    const enough = Math.max(1, 0.05 * Math.max(...totals));
    for (let i = 0; i < n; i++) {
      const upper = ts.map((_, j) => {
        const row = at(s.rows, j);
        const total = row.reduce((a, b) => a + b, 0);
        return lower[j] + (total >= enough ? row[i] / total : 0);
      });
      const top = ts.map((t, j) => [x(t), yMain(upper[j])]);
      const bottom = ts.map((t, j) => [x(t), yMain(lower[j])]).reverse();
      svg('path', { class: 'area', d: `${pathOf(top)}L${pathOf(bottom).slice(1)}Z`, fill: s.options[i].color, opacity: 0.88 }, plot);
      upper.forEach((u, j) => { lower[j] = u; });
      items.push([prompt.style === 'color' ? '' : s.options[i].label, s.options[i].color]);
    }
  } else {
    const max = Math.max(1, ...s.users);
    const line = (arr) => ts.map((t, j) => [x(t), yMain(at(arr, j) / max)]);
    const area = line(s.pressing);
    svg('path', { class: 'area', d: `${pathOf(area)}L${x(duration)},${MAIN_BOTTOM}L${x(0)},${MAIN_BOTTOM}Z`, fill: '#81b29a', opacity: 0.85 }, plot);
    svg('path', { d: pathOf(line(s.users)), fill: 'none', stroke: '#3d5a6c', 'stroke-width': 2 }, plot);
    items.push(['pressing', '#81b29a'], ['here', '#3d5a6c']);
  }

  // Likes per bin, as a strip of bars under the main chart.
  const likes = tl.likes.map((v, b) => v - (b ? tl.likes[b - 1] : 0));
  const maxLikes = Math.max(1, ...likes);
  const bw = Math.max(1, (W - PAD.left - PAD.right) / likes.length - 2);
  likes.forEach((v, b) => {
    const h = (v / maxLikes) * (LIKES_BOTTOM - LIKES_TOP);
    svg('rect', { x: x(b * tl.bin_width) + 1, y: LIKES_BOTTOM - h, width: bw, height: h, rx: 2, fill: LIKE_COLOR, opacity: 0.8 }, plot);
  });
  items.push(['likes', LIKE_COLOR]);

  // Axes and ticks.
  svg('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: MAIN_BOTTOM, y2: MAIN_BOTTOM }, root);
  svg('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: LIKES_BOTTOM, y2: LIKES_BOTTOM }, root);
  const step = duration > 40 ? 10 : 5;
  for (let t = 0; t <= duration; t += step) {
    svg('text', { class: 'tick', x: x(t), y: H - 12, 'text-anchor': 'middle' }, root).textContent = clockText(t);
  }
  const yLabel = s.kind === 'shares' ? ['100%', '0%'] : [String(Math.max(...s.users)), '0'];
  svg('text', { class: 'tick', x: PAD.left - 6, y: PAD.top + 8, 'text-anchor': 'end' }, root).textContent = yLabel[0];
  svg('text', { class: 'tick', x: PAD.left - 6, y: MAIN_BOTTOM, 'text-anchor': 'end' }, root).textContent = yLabel[1];
  svg('text', { class: 'tick', x: PAD.left - 6, y: LIKES_BOTTOM, 'text-anchor': 'end' }, root).textContent = '♥';

  // The participant's own answers.
  for (const m of mine) {
    svg('line', { class: 'mine-mark', x1: x(m.t), x2: x(m.t), y1: PAD.top, y2: MAIN_BOTTOM }, root);
    const color = m.index !== undefined && s.options ? s.options[m.index].color : '#1f2a33';
    svg('circle', { cx: x(m.t), cy: PAD.top + 4, r: 5, fill: color, stroke: '#fff', 'stroke-width': 2 }, root);
  }
  container.replaceChildren(root);

  legend.replaceChildren();
  for (const [label, color] of items) {
    const span = document.createElement('span');
    const swatch = document.createElement('i');
    swatch.style.background = color;
    span.append(swatch, document.createTextNode(label || color));
    legend.append(span);
  }
  if (mine.length) {
    const you = document.createElement('span');
    you.textContent = '┊ you';
    legend.append(you);
  }

  if (!animate) {
    reveal.setAttribute('width', String(W));
    root.dataset.revealed = 'true';
    return;
  }
  // Reveal left to right.
  const started = performance.now();
  const grow = (now) => {
    const f = Math.max(0, Math.min(1, (now - started) / 900));
    reveal.setAttribute('width', String(W * (1 - (1 - f) ** 3)));
    if (f < 1) requestAnimationFrame(grow);
    else root.dataset.revealed = 'true';
  };
  requestAnimationFrame(grow);
}
