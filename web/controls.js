// The controls of each prompt style: a 1–10 scale, a hold-to-press button,
// colour swatches and word chips.

/** Colours of word options and numeric ratings in the room and the chart. */
export const WORD_COLORS = ['#3d5a6c', '#e07a5f', '#81b29a', '#f2cc8f', '#9c89b8', '#5b8e7d', '#f28482', '#84a59d'];

/** A cool-to-warm ramp for ratings `min…max`. */
export function ratingColor(i, n) {
  const f = n <= 1 ? 0 : i / (n - 1);
  const hue = 205 - f * 185;
  return `hsl(${hue.toFixed(0)} 45% ${(52 + 6 * Math.sin(f * Math.PI)).toFixed(0)}%)`;
}

/** The options of a choice prompt as `{label, color}`, or null. */
export function choices(prompt) {
  if (prompt.style === 'word') {
    return prompt.options.map((label, i) => ({ label, color: WORD_COLORS[i % WORD_COLORS.length] }));
  }
  if (prompt.style === 'color') return prompt.colors.map((c) => ({ label: c, color: c }));
  if (prompt.style === 'numeric') {
    const n = prompt.max - prompt.min + 1;
    return Array.from({ length: n }, (_, i) => ({ label: String(prompt.min + i), color: ratingColor(i, n) }));
  }
  return null;
}

function button(className, text, attrs = {}) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  if (text) b.textContent = text;
  for (const [k, v] of Object.entries(attrs)) b.setAttribute(k, v);
  return b;
}

/**
 * Fills `container` with the controls of `prompt`. `on.choose(index)` is
 * called for a rating/colour/word choice (index from 0), `on.press(true|false)`
 * when the hold button goes down or up. Returns `{setEnabled, pressing}`.
 */
export function buildControls(container, prompt, on) {
  container.replaceChildren();
  const buttons = [];
  let pressing = false;
  const select = (chosen) => {
    for (const b of buttons) {
      const on = b === chosen;
      b.classList.toggle('selected', on);
      b.setAttribute('aria-pressed', String(on));
    }
  };
  if (prompt.style === 'press') {
    const hold = button('hold', 'Hold', { 'data-testid': 'hold', 'aria-label': 'Hold while it is true' });
    const down = (e) => {
      if (hold.disabled || pressing) return;
      e.preventDefault();
      if (e.pointerId !== undefined) hold.setPointerCapture(e.pointerId);
      pressing = true;
      hold.classList.add('pressing');
      hold.textContent = 'Holding';
      on.press(true);
    };
    const up = () => {
      if (!pressing) return;
      pressing = false;
      hold.classList.remove('pressing');
      hold.textContent = 'Hold';
      on.press(false);
    };
    hold.addEventListener('pointerdown', down);
    hold.addEventListener('pointerup', up);
    hold.addEventListener('pointercancel', up);
    hold.addEventListener('lostpointercapture', up);
    hold.addEventListener('keydown', (e) => { if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) down(e); });
    hold.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') up(); });
    hold.addEventListener('contextmenu', (e) => e.preventDefault());
    buttons.push(hold);
    container.append(hold);
  } else {
    const options = choices(prompt);
    const wrap = prompt.style === 'numeric' ? document.createElement('div') : container;
    if (prompt.style === 'numeric') wrap.className = 'scale';
    options.forEach((o, i) => {
      const b = prompt.style === 'color'
        ? button('swatch', '', { 'aria-label': `colour ${o.label}`, 'data-index': i })
        : button('chip', o.label, { 'data-index': i });
      if (prompt.style === 'color') b.style.background = o.color;
      b.setAttribute('aria-pressed', 'false');
      b.addEventListener('click', () => {
        if (b.disabled) return;
        select(b);
        on.choose(i);
      });
      buttons.push(b);
      wrap.append(b);
    });
    if (prompt.style === 'numeric') {
      const ends = document.createElement('div');
      ends.className = 'scale-ends';
      ends.innerHTML = '<span>not at all</span><span>completely</span>';
      container.append(wrap, ends);
    }
  }
  return {
    setEnabled(enabled) { for (const b of buttons) b.disabled = !enabled; },
    get pressing() { return pressing; },
  };
}

/** A short name of a style for labels. */
export function styleLabel(prompt) {
  return {
    numeric: `Scale ${prompt.min}–${prompt.max}`,
    press: 'Press and hold',
    color: 'Colours',
    word: 'Words',
  }[prompt.style] || prompt.style;
}
