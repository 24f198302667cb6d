// The admin side of the API (docs/api.md: Prompts, Named prompts): create,
// read and delete prompts, define named prompts, and read one prompt — stats, timeline, search, the live stream, who is taking it —
// with a prompt token minted for the admin. The admin console (/admin) is
// built on it.

import { InvalidArgumentError, ForbiddenError, NetworkError, apiError } from './errors.js';
import { Transport, baseUrlsOf, retryPolicyOf } from './http.js';
import { IDENTIFIER, checkNamedPrompt, checkPrompt } from './prompts.js';
import { binning } from './clock.js';
import { Watcher } from './watch.js';

/** A prompt token is re-minted once it is this old (they last 30 minutes). */
const TOKEN_REFRESH_MS = 20 * 60_000;
/** Search page size when reading many events (the API's most). */
const PAGE = 5000;
/** The most prompts one listing page holds (docs/api.md). */
const LIST_LIMIT = 500;

const nonEmpty = (v) => typeof v === 'string' && v.length > 0;

/** The admin's client: the admin token and the server URL(s). */
export class AdminClient {
  /**
   * @param {{baseUrl: string | string[], adminToken: string, fetch?: typeof fetch,
   *   WebSocket?: any, retry?: object, timeoutMs?: number}} options
   */
  constructor(options) {
    if (!options || typeof options !== 'object') throw new InvalidArgumentError('new AdminClient(options): options must be an object');
    if (!nonEmpty(options.adminToken)) throw new InvalidArgumentError('new AdminClient: adminToken must be a non-empty string');
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') throw new InvalidArgumentError('new AdminClient: no fetch here; pass options.fetch');
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      throw new InvalidArgumentError('new AdminClient: timeoutMs must be a positive number of milliseconds');
    }
    /** The WebSocket constructor streams use (default: the global one). */
    this.WebSocket = options.WebSocket;
    this.fetch = (...args) => fetchImpl(...args);
    this.transport = new Transport({
      baseUrls: baseUrlsOf(options.baseUrl),
      fetch: this.fetch,
      getUserToken: () => { throw new InvalidArgumentError('the admin client sends no user token'); },
      adminToken: options.adminToken,
      retry: retryPolicyOf(options.retry),
      timeoutMs,
    });
  }

  /** The server URLs, in the order they are tried. */
  get baseUrls() {
    return [...this.transport.baseUrls];
  }

  /**
   * A page of the prompt listing, newest first, each with its `sessions`
   * and `events` counts → `{items, next}`; pass `next` as `after` for the
   * following page (null on the last one).
   * @param {{limit?: number, after?: string | null, deleted?: false | true | 'any'}} [options]
   */
  listPrompts(options = {}) {
    if (!options || typeof options !== 'object') throw new InvalidArgumentError('listPrompts(options): options must be an object');
    const { limit, after, deleted } = options;
    const query = {};
    if (limit !== undefined) {
      if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT) {
        throw new InvalidArgumentError(`listPrompts: limit must be an integer from 1 to ${LIST_LIMIT}`);
      }
      query.limit = String(limit);
    }
    if (after !== undefined && after !== null) {
      if (!nonEmpty(after)) throw new InvalidArgumentError('listPrompts: after must be the `next` of a previous page');
      query.after = after;
    }
    if (deleted !== undefined) {
      if (deleted !== true && deleted !== false && deleted !== 'any') {
        throw new InvalidArgumentError("listPrompts: deleted must be false, true or 'any'");
      }
      query.deleted = String(deleted);
    }
    return this.transport.request({ method: 'GET', path: 'api/1/interactive_prompts', query, auth: 'admin' });
  }

  /**
   * Every event of a prompt as CSV or JSON lines (`format`), deleted or
   * not → the `Response`, whose body the server streams: read it with
   * `text()`, `blob()` or chunk by chunk from `body`. Tries each base URL
   * once until one answers; an error answer rejects with its typed error.
   * @param {string} uid
   * @param {'csv' | 'jsonl'} [format]
   */
  async exportEvents(uid, format = 'csv') {
    checkUid(uid, 'exportEvents');
    if (format !== 'csv' && format !== 'jsonl') throw new InvalidArgumentError("exportEvents: format must be 'csv' or 'jsonl'");
    const t = this.transport;
    let cause;
    for (let i = 0; i < t.baseUrls.length; i++) {
      const base = t.baseUrls[(t.preferred + i) % t.baseUrls.length];
      const url = new URL(`api/1/interactive_prompts/${encodeURIComponent(uid)}/events/export`, base);
      url.searchParams.set('format', format);
      let response;
      try {
        response = await this.fetch(url.href, { method: 'GET', headers: { authorization: `bearer ${t.adminToken}` } });
      } catch (e) {
        cause = e;
        continue;
      }
      if (response.ok) return response;
      let body = null;
      try { body = await response.json(); } catch { /* not JSON */ }
      throw apiError(response.status, body?.type, body?.message);
    }
    throw new NetworkError(`GET export of ${uid}: no answer from any server (${cause?.message ?? cause})`, cause);
  }

  /** A prompt, deleted or not (with `deleted_at`). */
  getPrompt(uid) {
    checkUid(uid, 'getPrompt');
    return this.transport.request({ method: 'GET', path: `api/1/interactive_prompts/${encodeURIComponent(uid)}`, auth: 'admin' });
  }

  /**
   * Creates a prompt. `body` is `{prompt, duration_seconds}`; it is checked
   * here first (`checkPrompt`), so an invalid one is refused with a
   * `PromptInvalidError` listing every problem, before any request. Sent
   * at most once when the outcome is unknown (no answer), so a retry never
   * makes two prompts.
   */
  createPrompt(body) {
    const problems = checkPrompt(body);
    if (problems.length) throw new PromptInvalidError(problems);
    return this.transport.request({
      method: 'POST', path: 'api/1/interactive_prompts', body, auth: 'admin', atMostOnce: true,
    });
  }

  /** Soft-deletes a prompt → the prompt with its `deleted_at`. */
  deletePrompt(uid) {
    checkUid(uid, 'deletePrompt');
    return this.transport.request({ method: 'DELETE', path: `api/1/interactive_prompts/${encodeURIComponent(uid)}`, auth: 'admin' });
  }

  /** A prompt token for reading `uid` → `{uid, jwt, expires_in}` (no session is started). */
  promptToken(uid) {
    checkUid(uid, 'promptToken');
    return this.transport.request({
      method: 'POST', path: `api/1/interactive_prompts/${encodeURIComponent(uid)}/prompt_token`, auth: 'admin',
    });
  }

  /**
   * Creates or updates the named prompt `identifier` → its definition.
   * `body` is `{prompt, duration_seconds, expires_seconds}`, checked here
   * first (`checkNamedPrompt`): an invalid one is refused with a
   * `PromptInvalidError` before any request. A `PUT`, so safe to retry.
   */
  putNamedPrompt(identifier, body) {
    const problems = checkNamedPrompt(identifier, body);
    if (problems.length) throw new PromptInvalidError(problems);
    return this.transport.request({ method: 'PUT', path: namedPath(identifier), body, auth: 'admin' });
  }

  /** The named prompt `identifier`'s definition (with `current_uid`). */
  getNamedPrompt(identifier) {
    checkIdentifier(identifier, 'getNamedPrompt');
    return this.transport.request({ method: 'GET', path: namedPath(identifier), auth: 'admin' });
  }

  /** Every named prompt not deleted, by identifier → `{items}`. */
  listNamedPrompts() {
    return this.transport.request({ method: 'GET', path: 'api/1/interactive_prompts/public', auth: 'admin' });
  }

  /** Stops starting the named prompt `identifier` → its definition as it was. Its instances stay. */
  deleteNamedPrompt(identifier) {
    checkIdentifier(identifier, 'deleteNamedPrompt');
    return this.transport.request({ method: 'DELETE', path: namedPath(identifier), auth: 'admin' });
  }

  /** Opens a prompt for reading: its record and a prompt token → `PromptReader`. */
  async openPrompt(uid) {
    const [record, token] = await Promise.all([this.getPrompt(uid), this.promptToken(uid)]);
    return new PromptReader(this, record, token.jwt);
  }
}

/** One prompt as the admin reads it: stats, timeline, search, stream, who is taking it. */
export class PromptReader {
  /** @param {AdminClient} admin @param {any} record @param {string} jwt */
  constructor(admin, record, jwt) {
    this.admin = admin;
    this.promptUid = record.uid;
    this.prompt = record.prompt;
    this.durationSeconds = record.duration_seconds;
    this.createdAt = record.created_at;
    this.deletedAt = record.deleted_at ?? null;
    this.bins = binning(this.durationSeconds);
    this.promptToken = jwt;
    this.mintedAt = Date.now();
    this.refreshing = null;
  }

  /** Mints a fresh token (once at a time). */
  refreshToken() {
    if (!this.refreshing) {
      this.refreshing = this.admin.promptToken(this.promptUid).then((t) => {
        this.promptToken = t.jwt;
        this.mintedAt = Date.now();
      }).finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  /** A request with the prompt token: re-minted when old, and once more after a 403. */
  async read(req) {
    if (Date.now() - this.mintedAt > TOKEN_REFRESH_MS) await this.refreshToken();
    const send = () => this.admin.transport.request({ ...req, auth: 'prompt', promptToken: this.promptToken });
    try {
      return await send();
    } catch (e) {
      if (!(e instanceof ForbiddenError)) throw e;
      await this.refreshToken();
      return send();
    }
  }

  /** The totals through `bin` (0 … `bins.count`). */
  stats(bin) {
    if (!Number.isInteger(bin) || bin < 0 || bin > this.bins.count) {
      throw new InvalidArgumentError(`stats(bin): bin must be an integer from 0 to ${this.bins.count}`);
    }
    return this.read({ method: 'GET', path: 'api/1/interactive_prompts/events/stats', query: { uid: this.promptUid, bin: String(bin) } });
  }

  /** The totals of every bin. */
  timeline() {
    return this.read({ method: 'GET', path: 'api/1/interactive_prompts/events/stats/timeline', query: { uid: this.promptUid } });
  }

  /** Searches the prompt's events (body as in docs/api.md, Search). */
  search(query = {}) {
    if (!query || typeof query !== 'object' || Array.isArray(query)) {
      throw new InvalidArgumentError('search(query): query must be an object {filters, sort, limit}');
    }
    return this.read({ method: 'POST', path: 'api/1/interactive_prompts/events/search', body: query });
  }

  /** Every event matching `filters`, in order, page after page. */
  async searchAll(filters) {
    const items = [];
    let sort;
    for (;;) {
      const page = await this.search({ filters, limit: PAGE, ...(sort ? { sort } : {}) });
      items.push(...page.items);
      if (!page.next_page_sort) return items;
      sort = page.next_page_sort;
    }
  }

  /**
   * How many people are taking the prompt now: sessions that joined
   * within the last `duration_seconds` (by the server's `created_at`,
   * compared with this machine's clock; a few seconds of grace) and have
   * not left. Two searches over the prompt's recent joins and leaves.
   * @param {number} [nowSeconds] Unix seconds (default: now)
   */
  async takingNow(nowSeconds = Date.now() / 1000) {
    const since = nowSeconds - this.durationSeconds - 5;
    const recent = (evtype) => this.searchAll({
      evtype: { operator: 'eq', value: evtype },
      created_at: { operator: 'gte', value: since },
    });
    const [joins, leaves] = await Promise.all([recent('join'), recent('leave')]);
    const left = new Set(leaves.map((e) => e.session_uid));
    return new Set(joins.filter((e) => !left.has(e.session_uid)).map((e) => e.session_uid)).size;
  }

  /** Watches the room over the live stream, as a viewer at `options.clock`'s prompt time. */
  watch(options = {}) {
    const reader = this;
    const watcher = new Watcher({
      baseUrls: this.admin.transport.baseUrls,
      WebSocket: this.admin.WebSocket,
      promptUid: this.promptUid,
      // Read at each connection, so a reconnection uses a fresh token.
      get promptToken() { return reader.promptToken; },
      durationSeconds: this.durationSeconds,
    }, {
      // Past its token's expiry (close 4401) the watch goes on with a fresh one.
      renewToken: async () => { await reader.refreshToken(); return reader.promptToken; },
      ...options,
      own: false,
    });
    const timer = setInterval(() => { this.refreshToken().catch(() => {}); }, TOKEN_REFRESH_MS);
    watcher.finished.then(() => clearInterval(timer));
    return watcher;
  }
}

/** `createPrompt` refused a body before sending it: `problems` lists `{field, message}`. */
export class PromptInvalidError extends InvalidArgumentError {
  /** @param {Array<{field: string, message: string}>} problems */
  constructor(problems) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.problems = problems;
  }
}

function checkIdentifier(identifier, method) {
  if (typeof identifier !== 'string' || !IDENTIFIER.test(identifier)) {
    throw new InvalidArgumentError(`${method}(identifier): identifier must be 1 to 64 characters of a-z, 0-9 and -`);
  }
}

const namedPath = (identifier) => `api/1/interactive_prompts/public/${identifier}`;

function checkUid(uid, method) {
  if (!nonEmpty(uid)) throw new InvalidArgumentError(`${method}(uid): uid must be a non-empty string`);
}
