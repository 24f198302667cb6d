// Faces in the room (docs/web-client.md, "Faces"): a person is their
// picture, or — without one, or when it does not load — their initials in
// a circle of a colour that is always the same for them. And the few
// people here at each moment, from the server's `profile_pictures`
// (docs/api.md, "Who is here"), refreshed every few seconds of the prompt
// clock without ever holding up the take.
//
// Pictures are only ever `https:` URLs, set as an <img>'s `src` property
// (never written into HTML), loaded without a referrer.

/** Seconds of prompt time between two asks of who is here. */
export const FACES_EVERY_SECONDS = 4;
/** How many people the strip shows at most. */
export const FACES_SHOWN = 5;

const COLORS = ['#3d5a6c', '#e07a5f', '#81b29a', '#c9a24a', '#9c89b8', '#5b8e7d', '#d1495b', '#6f96a8'];

function hash(s) {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(h);
}

/** The colour of `key` (a user's `sub`, or their name when that is all there is): one of a few, always the same. */
export function colorOf(key) {
  return COLORS[hash(String(key)) % COLORS.length];
}

/** `Ada Lovelace` → `AL`, `ada` → `A`, nothing usable → `?`. First letters of the first and last words. */
export function initials(name) {
  const words = String(name ?? '').split(/[\s._-]+/u).map((w) => w.replace(/^[^\p{L}\p{N}]+/u, '')).filter(Boolean);
  if (!words.length) return '?';
  const first = (w) => [...w][0].toLocaleUpperCase();
  return words.length === 1 ? first(words[0]) : first(words[0]) + first(words[words.length - 1]);
}

/** `url` when it is an absolute `https:` URL (as written by the URL parser), else null. */
export function safePicture(url) {
  if (typeof url !== 'string' || url.length > 2048) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/** The initials circle of `name`, coloured by `key`. */
function initialsOf(name, key) {
  const span = document.createElement('span');
  span.className = 'avatar';
  span.textContent = initials(name);
  span.style.background = colorOf(key);
  return span;
}

/**
 * A person's face: their picture when `picture` is a usable https URL
 * (falling back to initials if it fails to load), else their initials.
 * `key` picks the initials' colour (the user's `sub`).
 */
export function face(name, key, picture) {
  const url = safePicture(picture);
  if (!url) return initialsOf(name, key);
  const box = document.createElement('span');
  box.className = 'avatar picture';
  const img = document.createElement('img');
  img.referrerPolicy = 'no-referrer';
  img.setAttribute('referrerpolicy', 'no-referrer');
  img.alt = '';
  img.decoding = 'async';
  img.width = 26;
  img.height = 26;
  img.addEventListener('error', () => box.replaceWith(initialsOf(name, key)), { once: true });
  img.src = url;
  box.title = String(name ?? '');
  box.append(img);
  return box;
}

/**
 * The strip of people here: asks `ask(promptTime)` → `[{url, name}]`
 * once at the start and then each time the prompt clock enters a new
 * `FACES_EVERY_SECONDS` window, one ask at a time; a failed ask changes
 * nothing. Shown faces are kept while their person stays, so they do not
 * flicker.
 */
export class Faces {
  /** @param {HTMLElement} box @param {(t: number) => Promise<Array<{url: string, name: string}>>} ask */
  constructor(box, ask) {
    this.box = box;
    this.ask = ask;
    this.window = -1;
    this.asking = false;
    this.shown = new Map();
    box.replaceChildren();
    box.hidden = true;
  }

  /** Called every frame with the prompt clock. */
  tick(t) {
    const window = Math.floor(t / FACES_EVERY_SECONDS);
    if (window === this.window || this.asking) return;
    this.window = window;
    this.asking = true;
    let asked;
    try {
      asked = Promise.resolve(this.ask(t));
    } catch (e) {
      asked = Promise.reject(e);
    }
    asked.then((people) => this.show(people), () => {}).finally(() => { this.asking = false; });
  }

  show(people) {
    const next = new Map();
    for (const p of people) {
      const url = safePicture(p && p.url);
      if (!url || next.has(url) || next.size >= FACES_SHOWN) continue;
      next.set(url, this.shown.get(url) || face(p.name, p.name, url));
    }
    this.shown = next;
    this.box.replaceChildren(...next.values());
    this.box.hidden = next.size === 0;
  }
}
