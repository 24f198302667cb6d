// Dev mode only (`chorus serve --dev`, `chorus demo`): a user token for a
// display name, and the list of prompts. Real deployments have neither:
// the app's identity provider issues user tokens, and the app knows its
// prompts.

import { apiError, InvalidArgumentError, NetworkError } from './errors.js';
import { baseUrlsOf } from './http.js';

async function call(baseUrl, path, init, fetchImpl = globalThis.fetch) {
  const [base] = baseUrlsOf(baseUrl);
  let response;
  try {
    response = await fetchImpl(new URL(path, base).href, init);
  } catch (cause) {
    throw new NetworkError(`${path}: ${cause && cause.message}`, cause);
  }
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* typed by status */ }
  if (!response.ok) throw apiError(response.status, json?.type, json?.message);
  return json;
}

/**
 * Dev mode: a user token for a fresh user named `name` → `{user_jwt, sub}`.
 * @param {string | string[]} baseUrl
 * @param {string} name
 * @param {{fetch?: typeof fetch}} [options]
 */
export function devLogin(baseUrl, name, options = {}) {
  if (typeof name !== 'string' || !name.trim()) throw new InvalidArgumentError('devLogin: name must be a non-empty string');
  return call(baseUrl, 'api/1/dev/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  }, options.fetch);
}

/**
 * Dev mode: the prompts that are not deleted, oldest first →
 * `[{uid, prompt, duration_seconds}]`.
 * @param {string | string[]} baseUrl
 * @param {{fetch?: typeof fetch}} [options]
 */
export async function devPrompts(baseUrl, options = {}) {
  const body = await call(baseUrl, 'api/1/dev/prompts', { method: 'GET' }, options.fetch);
  return body.items;
}
