// The client: server URL(s), the app's user tokens, and sessions.

import { InvalidArgumentError } from './errors.js';
import { Transport, baseUrlsOf, retryPolicyOf } from './http.js';
import { Session, checkStarted } from './session.js';
import { IDENTIFIER } from './prompts.js';

/** A Chorus client for one app user (see README). */
export class Client {
  /**
   * @param {{baseUrl: string | string[], getUserToken: Function, fetch?: typeof fetch,
   *   WebSocket?: any, retry?: object, timeoutMs?: number}} options
   */
  constructor(options) {
    if (!options || typeof options !== 'object') throw new InvalidArgumentError('new Client(options): options must be an object');
    if (typeof options.getUserToken !== 'function') {
      throw new InvalidArgumentError('new Client: getUserToken must be a function returning (a promise of) the user token');
    }
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') throw new InvalidArgumentError('new Client: no fetch here; pass options.fetch');
    if (options.WebSocket !== undefined && typeof options.WebSocket !== 'function') {
      throw new InvalidArgumentError('new Client: WebSocket must be a WebSocket constructor');
    }
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      throw new InvalidArgumentError('new Client: timeoutMs must be a positive number of milliseconds');
    }
    /** The WebSocket constructor streams use (default: the global one). */
    this.WebSocket = options.WebSocket;
    this.transport = new Transport({
      baseUrls: baseUrlsOf(options.baseUrl),
      // Called unbound: a browser's fetch refuses another `this`.
      fetch: (...args) => fetchImpl(...args),
      getUserToken: options.getUserToken,
      retry: retryPolicyOf(options.retry),
      timeoutMs,
    });
  }

  /** The server URLs, in the order they are tried. */
  get baseUrls() {
    return [...this.transport.baseUrls];
  }

  /** Starts a session of the prompt `promptUid` for the user (`start_session`). */
  startSession(promptUid) {
    if (typeof promptUid !== 'string' || !promptUid) {
      throw new InvalidArgumentError('startSession(promptUid): promptUid must be a non-empty string');
    }
    return this.transport.request({
      method: 'POST',
      path: 'api/1/interactive_prompts/start_session',
      body: { interactive_prompt_uid: promptUid },
      auth: 'user',
    }).then((started) => new Session(this, this.transport, started));
  }

  /**
   * Starts a session of the named prompt `identifier` (`start_public`): on
   * its current instance, which the server makes when there is none.
   */
  startPublic(identifier) {
    if (typeof identifier !== 'string' || !IDENTIFIER.test(identifier)) {
      throw new InvalidArgumentError('startPublic(identifier): identifier must be 1 to 64 characters of a-z, 0-9 and -');
    }
    return this.transport.request({
      method: 'POST',
      path: 'api/1/interactive_prompts/start_public',
      body: { identifier },
      auth: 'user',
    }).then((started) => new Session(this, this.transport, started));
  }

  /** A session started earlier (its `toJSON()`, or the `start_session` body), to carry on with. */
  resumeSession(started) {
    return new Session(this, this.transport, checkStarted(started));
  }
}
