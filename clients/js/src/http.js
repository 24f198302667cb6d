// Requests to the HTTP API: fail-over between base URLs, retries with
// backoff after network errors, 5xx and 429, a fresh user token after a
// 403, and typed errors (see README: Retries and fail-over).

import { ChorusError, InvalidArgumentError, NetworkError, apiError } from './errors.js';
import { DEFAULT_RETRY, backoffDelay, parseRetryAfter, sleep } from './retry.js';

/** Statuses worth another try: the server may answer differently later. */
const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/**
 * @typedef {object} Request
 * @property {'GET' | 'POST' | 'PUT' | 'DELETE'} method
 * @property {string} path under the base URL, without a leading slash
 * @property {Record<string, string>} [query]
 * @property {unknown} [body] JSON
 * @property {'user' | 'prompt' | 'admin' | 'none'} auth which token goes in `Authorization`
 * @property {string} [promptToken] when `auth` is `prompt`
 * @property {boolean} [atMostOnce] not to be repeated once the server may have
 *   handled it (no answer, or a 500/502/504): a create that is not
 *   idempotent; a refusal that proves nothing was done (429, 503) is retried
 * @property {(error: import('./errors.js').ApiError) => Promise<unknown>} [recover]
 *   called with a 409 answered to a retry whose earlier try may have been
 *   stored; what it resolves to (unless undefined) is the request's result
 */

/** Normalizes and checks base URLs: absolute http(s), ending in `/`. */
export function baseUrlsOf(value) {
  const list = Array.isArray(value) ? value : [value];
  if (!list.length) throw new InvalidArgumentError('baseUrl: give at least one server URL');
  return list.map((u) => {
    if (typeof u !== 'string' || !u) throw new InvalidArgumentError('baseUrl: each URL must be a non-empty string');
    let url;
    try {
      url = new URL(u);
    } catch {
      throw new InvalidArgumentError(`baseUrl: ${JSON.stringify(u)} is not an absolute URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidArgumentError(`baseUrl: ${JSON.stringify(u)} is not http: or https:`);
    }
    url.search = '';
    url.hash = '';
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    return url.href;
  });
}

/** Checks a retry policy, filling in the defaults. */
export function retryPolicyOf(value = {}) {
  const policy = { ...DEFAULT_RETRY, ...value };
  const positive = (name, v, min) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      throw new InvalidArgumentError(`retry.${name} must be a finite number ≥ ${min}`);
    }
  };
  positive('attempts', policy.attempts, 1);
  positive('baseDelayMs', policy.baseDelayMs, 0);
  positive('maxDelayMs', policy.maxDelayMs, 0);
  return Object.freeze(policy);
}

/** The HTTP side of a client, shared by its sessions. */
export class Transport {
  /**
   * @param {{baseUrls: string[], fetch: typeof fetch, getUserToken: Function,
   *   retry: typeof DEFAULT_RETRY, timeoutMs: number}} options
   */
  constructor(options) {
    this.baseUrls = options.baseUrls;
    this.fetch = options.fetch;
    this.getUserToken = options.getUserToken;
    this.retry = options.retry;
    this.timeoutMs = options.timeoutMs;
    /** The admin token, for `auth: 'admin'` requests (AdminClient). */
    this.adminToken = options.adminToken;
    /** Index of the base URL tried first; moves on after a network error. */
    this.preferred = 0;
    /** @type {{promise: Promise<string>, value: string | undefined} | null} */
    this.userToken = null;
  }

  /** The current user token, asking the app for one when there is none. */
  currentUserToken() {
    if (!this.userToken) this.userToken = this.askUserToken(null);
    return this.userToken.promise;
  }

  /**
   * Asks the app for a fresh token after the server refused `refused`,
   * unless a newer one was asked for already: requests refused together
   * share one call.
   * @param {string} refused
   */
  refreshUserToken(refused) {
    if (!this.userToken || this.userToken.value === refused) this.userToken = this.askUserToken(refused);
    return this.userToken.promise;
  }

  /** @param {string | null} refused */
  askUserToken(refused) {
    const entry = { promise: null, value: undefined };
    entry.promise = (async () => {
      const token = await this.getUserToken({ refused });
      if (typeof token !== 'string' || !token) {
        throw new InvalidArgumentError('getUserToken() must resolve to a non-empty string');
      }
      entry.value = token;
      return token;
    })();
    // A failed call is not kept: the next request asks again.
    entry.promise.catch(() => { if (this.userToken === entry) this.userToken = null; });
    return entry;
  }

  /**
   * Sends `req`, retrying as the policy says; resolves to the response's
   * JSON or rejects with a typed error.
   * @param {Request} req
   */
  async request(req) {
    let tries = 0;
    let uncertain = false;
    let refreshed = false;
    let failedBases = 0;
    for (;;) {
      tries++;
      const base = this.baseUrls[this.preferred % this.baseUrls.length];
      const token = await this.tokenFor(req);
      let answer;
      try {
        answer = await this.once(base, req, token);
      } catch (cause) {
        if (cause instanceof ChorusError) throw cause;
        // No answer: the request may or may not have been handled.
        uncertain = true;
        this.preferred = (this.baseUrls.indexOf(base) + 1) % this.baseUrls.length;
        failedBases++;
        if (tries >= this.retry.attempts || req.atMostOnce) {
          throw new NetworkError(`${req.method} /${req.path}: no answer after ${tries} tries (${describe(cause)})`, cause);
        }
        // Another base URL not yet tried in this round is tried at once.
        if (failedBases % this.baseUrls.length !== 0) continue;
        await sleep(backoffDelay(Math.ceil(tries / this.baseUrls.length), this.retry));
        continue;
      }
      failedBases = 0;
      if (answer.ok) return answer.json;
      const error = apiError(answer.status, answer.json?.type, answer.json?.message, answer.retryAfter);
      if (answer.status === 403 && req.auth === 'user' && !refreshed) {
        refreshed = true;
        await this.refreshUserToken(token);
        continue;
      }
      if (answer.status === 409 && uncertain && req.recover) {
        const recovered = await req.recover(error);
        if (recovered !== undefined) return recovered;
      }
      if (!RETRYABLE.has(answer.status) || tries >= this.retry.attempts) throw error;
      if (req.atMostOnce && answer.status !== 429 && answer.status !== 503) throw error;
      // A 5xx may come from a proxy after the server handled the request.
      if (answer.status !== 429) uncertain = true;
      const asked = answer.retryAfter == null ? 0 : answer.retryAfter * 1000;
      const jitter = Math.random() * Math.min(250, this.retry.baseDelayMs);
      await sleep(Math.max(asked + jitter, backoffDelay(tries, this.retry)));
    }
  }

  /** @param {Request} req */
  async tokenFor(req) {
    if (req.auth === 'user') return this.currentUserToken();
    if (req.auth === 'prompt') return req.promptToken;
    if (req.auth === 'admin') return this.adminToken;
    return undefined;
  }

  /**
   * One try against one base URL. Rejects with the fetch error (or a
   * timeout) when no answer arrived.
   * @param {string} base @param {Request} req @param {string | undefined} token
   */
  async once(base, req, token) {
    const url = new URL(req.path, base);
    for (const [k, v] of Object.entries(req.query || {})) url.searchParams.set(k, v);
    const headers = { accept: 'application/json' };
    if (token) headers.authorization = `bearer ${token}`;
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      const response = await this.fetch(url.href, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: abort.signal,
      });
      const text = await response.text();
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: typed by status */ }
      return {
        ok: response.ok,
        status: response.status,
        json,
        retryAfter: parseRetryAfter(response.headers.get('retry-after')),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}

function describe(cause) {
  if (cause && typeof cause === 'object') {
    const inner = /** @type {any} */ (cause).cause;
    const message = /** @type {any} */ (cause).message;
    return inner && inner.code ? `${message}: ${inner.code}` : String(message);
  }
  return String(cause);
}
