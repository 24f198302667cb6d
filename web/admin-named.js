// The console's named prompts (docs/api.md, Named prompts): every
// definition with its version, length and renewal period, and its current
// instance — which opens in the watch view, with when it stops being
// current. Each is edited in the prompt form (admin-form.js) and deleted
// with two clicks.

import { AuthError } from '/client/index.js';
import { confirmClick, period, when } from './admin-list.js';

function cell(tr, className, text) {
  const td = document.createElement('td');
  td.className = className;
  if (text !== undefined) td.textContent = text;
  tr.append(td);
  return td;
}

function button(className, text, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.onclick = onclick;
  return b;
}

export class NamedList {
  /**
   * @param {import('/client/admin.js').AdminClient} admin
   * @param {{rows: HTMLElement, error: HTMLElement, empty: HTMLElement, open: (uid: string) => void,
   *   edit: (identifier: string) => void, refused: (e: Error) => void}} dom
   */
  constructor(admin, dom) {
    this.admin = admin;
    this.dom = dom;
    /** A newer load makes older answers stale. */
    this.generation = 0;
    /** The identifier just saved, marked in the list. */
    this.highlight = null;
  }

  /** Lists the definitions again. */
  async load() {
    const { dom } = this;
    const generation = ++this.generation;
    dom.error.hidden = true;
    let list;
    try {
      list = await this.admin.listNamedPrompts();
    } catch (e) {
      if (generation === this.generation) this.fail(e, 'Could not list the named prompts');
      return;
    }
    if (generation !== this.generation) return;
    dom.rows.replaceChildren(...list.items.map((n) => this.row(n)));
    dom.empty.hidden = list.items.length > 0;
  }

  fail(e, what) {
    if (e instanceof AuthError) {
      this.dom.refused(e);
      return;
    }
    this.dom.error.textContent = `${what}: ${e.message}`;
    this.dom.error.hidden = false;
  }

  /** One definition's row. */
  row(n) {
    const tr = document.createElement('tr');
    tr.dataset.identifier = n.identifier;
    tr.dataset.style = n.prompt.style;
    if (n.identifier === this.highlight) tr.classList.add('fresh');
    cell(tr, 'identifier').append(Object.assign(document.createElement('code'), { textContent: n.identifier }));
    const prompt = cell(tr, 'prompt');
    prompt.append(
      Object.assign(document.createElement('span'), { className: 'style-tag', textContent: n.prompt.style }),
      Object.assign(document.createElement('span'), { className: 'text', textContent: ` ${n.prompt.text}` }),
    );
    cell(tr, 'n version', String(n.version));
    cell(tr, 'n length', `${n.duration_seconds} s`);
    cell(tr, 'expires', period(n.expires_seconds)).title = `${n.expires_seconds} s`;
    const current = cell(tr, 'current');
    if (n.current_uid === null) {
      current.textContent = 'none yet';
    } else {
      current.append(button('link open-current', n.current_uid, () => this.dom.open(n.current_uid)));
      this.until(current, n);
    }
    const actions = cell(tr, 'row-actions');
    actions.append(
      button('ghost edit', 'Edit', () => this.dom.edit(n.identifier)),
      button('danger delete', 'Delete', null),
    );
    confirmClick(actions.lastChild, () => this.remove(n.identifier, actions.lastChild));
    return tr;
  }

  /** Adds when the current instance stops being current: made at its `created_at`, current for `expires_seconds`. */
  until(td, n) {
    this.admin.getPrompt(n.current_uid).then((record) => {
      const until = document.createElement('span');
      until.className = 'until';
      until.textContent = `until ${when(record.created_at + n.expires_seconds)}`;
      td.append(until);
    }).catch(() => { /* the uid alone is enough */ });
  }

  /** Deletes a definition (its instances stay), then lists again. */
  async remove(identifier, deleteButton) {
    deleteButton.disabled = true;
    try {
      await this.admin.deleteNamedPrompt(identifier);
    } catch (e) {
      deleteButton.disabled = false;
      this.fail(e, `Could not delete ${identifier}`);
      return;
    }
    await this.load();
  }
}
