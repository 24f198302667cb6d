// The console's prompt form: a new prompt, or a named prompt's definition
// (its identifier and renewal period besides), one per style. Each field's
// problem is shown at that field — found before sending by the package's
// checks (checkPrompt, checkNamedPrompt: the server's own rules and field
// paths), or, should the server still refuse, its message placed at the
// field its 422 names.

import {
  AuthError, NotFoundError, UnprocessableEntityError, checkNamedPrompt, checkPrompt, fieldOf,
} from '/client/index.js';

const DEFAULT_COLORS = ['#3D5A6C', '#E07A5F', '#81B29A'];
const DEFAULT_WORDS = ['calm', 'curious'];
const MAX_ENTRIES = 8;

/** A whole number as typed, as a number; anything else as typed, for the checks to name. */
function integer(raw) {
  const t = raw.trim();
  return /^-?\d+$/.test(t) ? Number(t) : raw;
}

export class CreateForm {
  /**
   * @param {import('/client/admin.js').AdminClient} admin
   * @param {HTMLFormElement} formEl
   * @param {{created: (record: object) => void, saved: (definition: object) => void,
   *   refused: (e: Error) => void}} on
   */
  constructor(admin, formEl, on) {
    this.admin = admin;
    this.form = formEl;
    this.on = on;
    this.sending = false;
    /** null: a new prompt; else the named prompt's form, `{identifier}` (null when new). */
    this.named = null;
    /** Bumped at each reset, so a late answer of an earlier load is dropped. */
    this.generation = 0;
    this.q = (sel) => formEl.querySelector(sel);
    formEl.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    for (const r of formEl.querySelectorAll('input[name="style"]')) r.addEventListener('change', () => this.showStyle());
    // Editing a field clears what was said about it.
    formEl.addEventListener('input', (e) => {
      const field = e.target.dataset && e.target.dataset.field;
      if (field) this.clearField(field);
    });
    this.q('#add-color').addEventListener('click', () => this.addEntry('colors', '#9C89B8'));
    this.q('#add-option').addEventListener('click', () => this.addEntry('options', ''));
  }

  get style() {
    return this.q('input[name="style"]:checked').value;
  }

  /** A fresh form for a new prompt: numeric, default values, no messages. */
  reset() {
    this.named = null;
    this.blank();
  }

  blank() {
    this.generation++;
    this.form.reset();
    this.q('#f-text').value = '';
    this.setEntries('colors', DEFAULT_COLORS);
    this.setEntries('options', DEFAULT_WORDS);
    this.clearAll();
    this.showStyle();
    for (const box of this.form.querySelectorAll('.named-fields')) box.hidden = this.named === null;
    const identifier = this.q('#f-identifier');
    identifier.readOnly = Boolean(this.named && this.named.identifier);
    identifier.value = (this.named && this.named.identifier) || '';
    this.q('#create-submit').textContent = this.named ? 'Save' : 'Create';
  }

  /**
   * The form of a named prompt: a new one (`identifier` null), or the
   * definition of `identifier`, read from the server and filled in.
   */
  async editNamed(identifier) {
    this.named = { identifier };
    this.blank();
    if (identifier === null) return;
    const generation = this.generation;
    const button = this.q('#create-submit');
    button.disabled = true;
    let definition;
    try {
      definition = await this.admin.getNamedPrompt(identifier);
    } catch (e) {
      if (generation !== this.generation) return;
      if (e instanceof AuthError) return this.on.refused(e);
      this.notice(e instanceof NotFoundError ? `There is no named prompt ${identifier}.` : `Could not read it: ${e.message}`);
      return;
    } finally {
      if (generation === this.generation) button.disabled = false;
    }
    if (generation === this.generation) this.fill(definition);
  }

  /** Fills the fields from a definition `{prompt, duration_seconds, expires_seconds}`. */
  fill({ prompt, duration_seconds: duration, expires_seconds: expires }) {
    this.q(`input[name="style"][value="${CSS.escape(prompt.style)}"]`).checked = true;
    this.showStyle();
    this.q('#f-text').value = prompt.text;
    if (prompt.style === 'numeric') {
      for (const k of ['min', 'max', 'step']) this.q(`#f-${k}`).value = String(prompt[k]);
    } else if (prompt.style === 'color') {
      this.setEntries('colors', prompt.colors);
    } else if (prompt.style === 'word') {
      this.setEntries('options', prompt.options);
    }
    this.q('#f-duration').value = String(duration);
    this.q('#f-expires').value = String(expires);
  }

  showStyle() {
    for (const box of this.form.querySelectorAll('.style-fields')) box.hidden = box.dataset.style !== this.style;
  }

  /** The list of colours or words: one row per entry, each with its own field path and message. */
  setEntries(kind, values) {
    const list = this.q(kind === 'colors' ? '#f-colors' : '#f-options');
    list.replaceChildren();
    for (const v of values) this.appendEntry(kind, v);
  }

  addEntry(kind, value) {
    const list = this.q(kind === 'colors' ? '#f-colors' : '#f-options');
    if (list.children.length >= MAX_ENTRIES) return;
    this.appendEntry(kind, value);
    this.renumber(kind);
  }

  appendEntry(kind, value) {
    const list = this.q(kind === 'colors' ? '#f-colors' : '#f-options');
    const li = document.createElement('li');
    const input = document.createElement('input');
    input.value = value;
    input.className = 'entry';
    input.setAttribute('aria-label', kind === 'colors' ? 'Colour' : 'Word');
    li.append(input);
    if (kind === 'colors') {
      const swatch = document.createElement('span');
      swatch.className = 'swatch-preview';
      const paint = () => { swatch.style.background = /^#[0-9A-Fa-f]{6}$/.test(input.value.trim()) ? input.value.trim() : 'transparent'; };
      input.addEventListener('input', paint);
      paint();
      li.prepend(swatch);
    }
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'ghost remove';
    remove.textContent = '×';
    remove.setAttribute('aria-label', 'Remove');
    remove.addEventListener('click', () => { li.remove(); this.renumber(kind); });
    const error = document.createElement('p');
    error.className = 'field-error';
    error.hidden = true;
    li.append(remove, error);
    list.append(li);
    this.renumber(kind);
  }

  /** Gives each entry its field path, `prompt.colors[i]` or `prompt.options[i]`. */
  renumber(kind) {
    const list = this.q(kind === 'colors' ? '#f-colors' : '#f-options');
    [...list.children].forEach((li, i) => {
      const path = `prompt.${kind}[${i}]`;
      li.querySelector('input').dataset.field = path;
      li.querySelector('.field-error').dataset.for = path;
      li.querySelector('.field-error').hidden = true;
    });
    this.clearField(`prompt.${kind}`);
    this.q(kind === 'colors' ? '#add-color' : '#add-option').disabled = list.children.length >= MAX_ENTRIES;
  }

  entries(kind) {
    return [...this.q(kind === 'colors' ? '#f-colors' : '#f-options').querySelectorAll('input')].map((i) => i.value);
  }

  /** The create body from the fields, as typed: the checks judge it, not this. */
  body() {
    const prompt = { style: this.style, text: this.q('#f-text').value };
    if (prompt.style === 'numeric') {
      prompt.min = integer(this.q('#f-min').value);
      prompt.max = integer(this.q('#f-max').value);
      prompt.step = integer(this.q('#f-step').value);
    } else if (prompt.style === 'color') {
      prompt.colors = this.entries('colors').map((c) => c.trim());
    } else if (prompt.style === 'word') {
      prompt.options = this.entries('options');
    }
    const body = { prompt, duration_seconds: integer(this.q('#f-duration').value) };
    if (this.named) body.expires_seconds = integer(this.q('#f-expires').value);
    return body;
  }

  /** The named prompt's identifier as typed (outer spaces aside). */
  identifier() {
    return this.q('#f-identifier').value.trim();
  }

  clearField(field) {
    const el = this.form.querySelector(`.field-error[data-for="${CSS.escape(field)}"]`);
    if (el) el.hidden = true;
    const input = this.form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    if (input) input.removeAttribute('aria-invalid');
  }

  clearAll() {
    for (const el of this.form.querySelectorAll('.field-error')) el.hidden = true;
    for (const el of this.form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    this.q('#create-error').hidden = true;
  }

  /** Shows `message` at `field`, or in the form's notice when no field of the form is named so. */
  say(field, message) {
    const el = this.form.querySelector(`.field-error[data-for="${CSS.escape(field)}"]`);
    const input = this.form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    if (input) input.setAttribute('aria-invalid', 'true');
    if (el) {
      el.textContent = message;
      el.hidden = false;
      return;
    }
    this.notice(`${field}: ${message}`);
  }

  /** A message above the button. */
  notice(text) {
    const notice = this.q('#create-error');
    notice.textContent = text;
    notice.hidden = false;
  }

  async submit() {
    if (this.sending) return;
    this.clearAll();
    const body = this.body();
    const named = this.named;
    const identifier = named && this.identifier();
    const problems = named ? checkNamedPrompt(identifier, body) : checkPrompt(body);
    if (problems.length) {
      // Nothing is sent: each problem is said at its field.
      for (const p of problems) this.say(p.field, p.message);
      this.focusFirstProblem();
      return;
    }
    this.sending = true;
    const button = this.q('#create-submit');
    button.disabled = true;
    try {
      if (named) this.on.saved(await this.admin.putNamedPrompt(identifier, body));
      else this.on.created(await this.admin.createPrompt(body));
    } catch (e) {
      this.refusal(e);
    } finally {
      this.sending = false;
      button.disabled = false;
    }
  }

  /** The server refused: its message at the field it names, else in the notice. */
  refusal(e) {
    if (e instanceof AuthError) {
      this.on.refused(e);
      return;
    }
    const at = e instanceof UnprocessableEntityError ? fieldOf(e) : null;
    if (at) {
      this.say(at.field, at.message);
      this.focusFirstProblem();
      return;
    }
    this.notice(`The server refused the prompt: ${e.message}`);
  }

  focusFirstProblem() {
    const input = this.form.querySelector('[aria-invalid="true"]');
    if (input && !input.closest('[hidden]')) input.focus();
  }
}
