// A prompt's rules, checked before sending (docs/rules.md, Prompts): the
// same limits, the same field paths and the same trimming as the server,
// so a form can say what is wrong at each field; and the field a server's
// 422 names, so a form can show the server's message at that field.

/** Unicode White_Space, what the server trims (`\s` also counts U+FEFF, which it keeps). */
const SPACE = '\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TRIM = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, 'gu');

/** The limits (docs/rules.md, Prompts). */
export const PROMPT_LIMITS = Object.freeze({
  textChars: 75, optionChars: 45, minChoices: 2, maxChoices: 8, maxSpan: 10, maxDuration: 86_400,
});

/** A named prompt's identifier (docs/api.md, Named prompts). */
export const IDENTIFIER = /^[a-z0-9-]{1,64}$/;
/** Shortest `expires_seconds` of a named prompt. */
export const MIN_EXPIRES_SECONDS = 60;

/** Trimmed as the server trims. */
export function trimText(text) {
  return String(text).replace(TRIM, '');
}

/** Characters as the server counts them (code points, not UTF-16 units). */
const chars = (s) => [...s].length;

const isInt = (v) => typeof v === 'number' && Number.isSafeInteger(v);

function text(problems, field, raw, max) {
  if (typeof raw !== 'string') {
    problems.push({ field, message: 'must be text' });
    return;
  }
  const n = chars(trimText(raw));
  if (n < 1 || n > max) problems.push({ field, message: `must be 1 to ${max} characters after trimming, got ${n}` });
}

function choices(problems, field, list, each) {
  if (!Array.isArray(list)) {
    problems.push({ field, message: 'must be a list' });
    return;
  }
  if (list.length < PROMPT_LIMITS.minChoices || list.length > PROMPT_LIMITS.maxChoices) {
    problems.push({ field, message: `must have 2 to 8 entries, got ${list.length}` });
  }
  list.forEach((v, i) => each(`${field}[${i}]`, v));
}

function numeric(problems, p) {
  for (const k of ['min', 'max', 'step']) {
    if (!isInt(p[k])) problems.push({ field: `prompt.${k}`, message: 'must be a whole number' });
  }
  if (!isInt(p.min) || !isInt(p.max)) return;
  if (p.min > p.max) problems.push({ field: 'prompt.min', message: `must be at most max (${p.max}), got ${p.min}` });
  if (isInt(p.step) && p.step !== 1) problems.push({ field: 'prompt.step', message: `must be 1, got ${p.step}` });
  if (p.max - p.min > PROMPT_LIMITS.maxSpan) problems.push({ field: 'prompt.max', message: 'max − min must be at most 10' });
}

/**
 * Every problem of a create body `{prompt, duration_seconds}` →
 * `[{field, message}]` (empty when the server would accept it). Fields
 * are the server's paths: `prompt.text`, `prompt.min`, `prompt.max`,
 * `prompt.step`, `prompt.colors`, `prompt.colors[i]`, `prompt.options`,
 * `prompt.options[i]`, `prompt.style`, `duration_seconds`.
 * @param {any} body
 */
export function checkPrompt(body) {
  const problems = [];
  if (!body || typeof body !== 'object') return [{ field: 'body', message: 'must be {prompt, duration_seconds}' }];
  const d = body.duration_seconds;
  if (!isInt(d) || d < 1 || d > PROMPT_LIMITS.maxDuration) {
    problems.push({ field: 'duration_seconds', message: `must be a whole number between 1 and ${PROMPT_LIMITS.maxDuration}` });
  }
  const p = body.prompt;
  if (!p || typeof p !== 'object') return [{ field: 'prompt', message: 'must be a prompt object' }, ...problems];
  switch (p.style) {
    case 'numeric':
      text(problems, 'prompt.text', p.text, PROMPT_LIMITS.textChars);
      numeric(problems, p);
      break;
    case 'press':
      text(problems, 'prompt.text', p.text, PROMPT_LIMITS.textChars);
      break;
    case 'color':
      text(problems, 'prompt.text', p.text, PROMPT_LIMITS.textChars);
      choices(problems, 'prompt.colors', p.colors, (field, c) => {
        if (typeof c !== 'string' || !/^#[0-9A-Fa-f]{6}$/.test(c)) {
          problems.push({ field, message: `must be a colour like #A1B2C3, got ${JSON.stringify(c)}` });
        }
      });
      break;
    case 'word':
      text(problems, 'prompt.text', p.text, PROMPT_LIMITS.textChars);
      choices(problems, 'prompt.options', p.options, (field, o) => text(problems, field, o, PROMPT_LIMITS.optionChars));
      break;
    default:
      problems.push({ field: 'prompt.style', message: 'must be numeric, press, color or word' });
  }
  // The order the server checks in: the prompt's fields, then the duration.
  return [...problems.filter((x) => x.field !== 'duration_seconds'), ...problems.filter((x) => x.field === 'duration_seconds')];
}

/**
 * Every problem of a named prompt's definition, `identifier` and the body
 * `{prompt, duration_seconds, expires_seconds}` of its `PUT` →
 * `[{field, message}]`, in the order the server checks: `identifier`, the
 * prompt's fields, `duration_seconds`, `expires_seconds`.
 * @param {any} identifier
 * @param {any} body
 */
export function checkNamedPrompt(identifier, body) {
  const problems = [];
  if (typeof identifier !== 'string' || !IDENTIFIER.test(identifier)) {
    problems.push({ field: 'identifier', message: 'must be 1 to 64 characters of a-z, 0-9 and -' });
  }
  if (!body || typeof body !== 'object') {
    return [...problems, { field: 'body', message: 'must be {prompt, duration_seconds, expires_seconds}' }];
  }
  problems.push(...checkPrompt(body));
  const e = body.expires_seconds;
  if (!isInt(e) || e < MIN_EXPIRES_SECONDS) {
    problems.push({ field: 'expires_seconds', message: `must be a whole number of at least ${MIN_EXPIRES_SECONDS}` });
  }
  return problems;
}

/**
 * The field a server's 422 is about, and what it says of it → `{field,
 * message}`, or null when the message names no field. Reads both shapes:
 * `prompt.text: must be …` and `invalid request body at prompt.min: …`.
 * @param {{message?: string} | string} error
 */
export function fieldOf(error) {
  const text = typeof error === 'string' ? error : error?.message;
  if (typeof text !== 'string') return null;
  const m = /^(?:invalid request body at )?([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*|\[\d+\])*): ([\s\S]+)$/.exec(text);
  if (!m || m[1] === 'body') return null;
  return { field: m[1], message: m[2] };
}
