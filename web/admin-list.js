// The console's prompt list: newest first, a page at a time (the listing's
// keyset cursor), each prompt with its sessions and events counts.

import { AuthError } from '/client/index.js';

/** Prompts fetched per page. */
const PAGE = 50;

function cell(tr, text, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  if (text !== undefined) td.textContent = text;
  tr.append(td);
  return td;
}

/** `2026-12-07 14:05` in local time. */
export function when(seconds) {
  const d = new Date(seconds * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Seconds as the largest whole unit: `7 d`, `36 h`, `90 min`, `45 s`. */
export function period(seconds) {
  for (const [unit, n] of [['d', 86_400], ['h', 3600], ['min', 60]]) {
    if (seconds >= n && seconds % n === 0) return `${seconds / n} ${unit}`;
  }
  return `${seconds} s`;
}

/** A delete must be confirmed with a second click within this many seconds. */
const CONFIRM_SECONDS = 5;

/**
 * Makes `button` call `action` on a second click within a few seconds of
 * the first, which only asks "Click again to delete" (no browser dialog).
 * Returns a function that withdraws a pending question.
 */
export function confirmClick(button, action) {
  const label = button.textContent;
  let timer = null;
  const withdraw = () => {
    if (timer === null) return;
    clearTimeout(timer);
    timer = null;
    button.textContent = label;
    button.classList.remove('confirm');
  };
  button.onclick = () => {
    if (timer === null) {
      button.textContent = 'Click again to delete';
      button.classList.add('confirm');
      timer = setTimeout(withdraw, CONFIRM_SECONDS * 1000);
      return;
    }
    withdraw();
    action();
  };
  return withdraw;
}

export class PromptList {
  /**
   * @param {import('/client/admin.js').AdminClient} admin
   * @param {{rows: HTMLElement, more: HTMLButtonElement, error: HTMLElement, empty: HTMLElement,
   *   deleted: HTMLSelectElement, open: (uid: string) => void, refused: (e: Error) => void}} dom
   */
  constructor(admin, dom) {
    this.admin = admin;
    this.dom = dom;
    /** The cursor of the next page, or null after the last. */
    this.next = null;
    /** A load in flight; a newer one makes older answers stale. */
    this.generation = 0;
    /** The uid of a prompt just created, marked in the list. */
    this.highlight = null;
    dom.more.onclick = () => this.page(this.generation, this.next);
    dom.deleted.onchange = () => this.load();
  }

  /** Loads the first page again. */
  load() {
    this.generation++;
    this.dom.rows.replaceChildren();
    this.dom.empty.hidden = true;
    return this.page(this.generation, null);
  }

  async page(generation, after) {
    const { dom } = this;
    dom.error.hidden = true;
    dom.more.disabled = true;
    const value = dom.deleted.value;
    const deleted = value === 'any' ? 'any' : value === 'true';
    let page;
    try {
      page = await this.admin.listPrompts({ limit: PAGE, after, deleted });
    } catch (e) {
      if (e instanceof AuthError) {
        dom.refused(e);
        return;
      }
      if (generation !== this.generation) return;
      dom.error.textContent = `Could not list the prompts: ${e.message}`;
      dom.error.hidden = false;
      dom.more.disabled = false;
      return;
    }
    if (generation !== this.generation) return;
    dom.rows.append(...page.items.map((p) => this.row(p)));
    this.next = page.next;
    dom.more.hidden = !page.next;
    dom.more.disabled = false;
    dom.empty.hidden = dom.rows.children.length > 0;
  }

  /** One prompt's row; its text opens it. */
  row(p) {
    const tr = document.createElement('tr');
    tr.dataset.uid = p.uid;
    tr.dataset.style = p.prompt.style;
    if (p.uid === this.highlight) tr.classList.add('fresh');
    if (p.deleted_at !== null) tr.classList.add('deleted');
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'link open';
    open.textContent = p.prompt.text;
    open.onclick = () => this.dom.open(p.uid);
    cell(tr).append(open);
    cell(tr).append(Object.assign(document.createElement('span'), { className: 'style-tag', textContent: p.prompt.style }));
    cell(tr, `${p.duration_seconds} s`, 'n');
    cell(tr, String(p.sessions), 'n sessions');
    cell(tr, String(p.events), 'n events');
    cell(tr, when(p.created_at), 'created');
    cell(tr, p.deleted_at !== null ? `deleted ${when(p.deleted_at)}` : '', 'state');
    return tr;
  }
}
