// The live stream (docs/stream-protocol.md): handshake and clock sync,
// delivery of each event at the viewer's prompt time, re-sync on drift,
// reconnects with backoff that resume where they left off, deduplicated.

import { InvalidArgumentError, PromptTokenExpiredError, apiError } from './errors.js';
import { startClock } from './clock.js';
import { backoffDelay } from './retry.js';
import { EventQueue } from './pending.js';

/** The stream closes this long after `duration + lookback` (docs/stream-protocol.md). */
const END_GRACE_SECONDS = 10;
/** Give up a connection that is not authorized by then. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Longest sleep of the delivery timer, so that a paused or jumping clock is noticed. */
const TICK_MS = 250;
const RECONNECT = { baseDelayMs: 250, maxDelayMs: 10_000 };
/** Error codes after which reconnecting cannot help. */
const FATAL = new Set([401, 403, 404, 422]);
/** The close code of a stream whose prompt token expired (docs/stream-protocol.md, Endings). */
const TOKEN_EXPIRED_CLOSE = 4401;

const DEFAULTS = Object.freeze({
  bandwidth: 50, lookback: 1.5, lookahead: 1.5, replay: true, maxDrift: 0.5, minResyncSeconds: 10, own: true,
});

function checkOptions(options) {
  if (!options || typeof options !== 'object') throw new InvalidArgumentError('watch(options): options must be an object');
  const o = { ...DEFAULTS, ...options };
  if (!Number.isInteger(o.bandwidth) || o.bandwidth < 1 || o.bandwidth > 5000) {
    throw new InvalidArgumentError('watch: bandwidth must be an integer from 1 to 5000 (events per second)');
  }
  for (const name of ['lookback', 'lookahead']) {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 10) {
      throw new InvalidArgumentError(`watch: ${name} must be a number of seconds from 0 to 10`);
    }
  }
  if (typeof o.replay !== 'boolean') throw new InvalidArgumentError('watch: replay must be true or false');
  if (typeof o.own !== 'boolean') throw new InvalidArgumentError('watch: own must be true or false');
  if (o.clock !== undefined && typeof o.clock !== 'function') {
    throw new InvalidArgumentError('watch: clock must be a function returning the prompt time in seconds');
  }
  if (o.renewToken !== undefined && typeof o.renewToken !== 'function') throw new InvalidArgumentError('watch: renewToken must be a function returning (a promise of) a fresh prompt token');
  for (const name of ['maxDrift', 'minResyncSeconds']) {
    if (typeof o[name] !== 'number' || !(o[name] > 0)) throw new InvalidArgumentError(`watch: ${name} must be a positive number`);
  }
  return o;
}

/** Calls an app's listener; what it throws is reported without stopping the watch. */
function call(listener, value) {
  try {
    listener(value);
  } catch (e) {
    setTimeout(() => { throw e; });
  }
}

function wsUrl(base) {
  const url = new URL('api/2/interactive_prompts/live', base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

/** A watch of one prompt's room; made by `Session.watch`. */
export class Watcher {
  /**
   * @param {{baseUrls: string[], WebSocket: any, promptUid: string, promptToken: string, durationSeconds: number}} target
   * @param {object} options
   */
  constructor(target, options) {
    const o = checkOptions(options);
    const WebSocketImpl = target.WebSocket ?? globalThis.WebSocket;
    if (typeof WebSocketImpl !== 'function') {
      throw new InvalidArgumentError('watch: no WebSocket here; pass the client a WebSocket constructor (on Node 20: the ws package)');
    }
    this.target = target;
    this.WebSocket = WebSocketImpl;
    this.options = o;
    /** The prompt clock events are delivered by. */
    this.clock = o.clock ?? startClock(0);
    this.own = o.own;
    /** Uids delivered or waiting, with their prompt times (for pruning). */
    this.seen = new Map();
    this.pruneAt = 10_000;
    this.queue = new EventQueue();
    this.listeners = { events: new Set(), status: new Set() };
    this.iterators = new Set();
    this.counts = { connections: 0, resyncs: 0, reconnects: 0, delivered: 0, duplicates: 0 };
    this.base = 0;
    this.failures = 0;
    this.lastResync = -Infinity;
    this.current = null;
    this.candidate = null;
    this.renewedToken = undefined; // the token `renewToken` gave last, in place of the target's
    this.timer = null;
    this.reconnectTimer = null;
    this.state = 'connecting';
    this.done = false;
    /** @type {Promise<{reason: 'ended' | 'stopped' | 'failed', error?: Error}>} */
    this.finished = new Promise((resolve) => { this.resolveFinished = resolve; });
    this.connect();
  }

  /** Subscribes to `events` (arrays, in order, at their prompt time) or `status`; returns the unsubscribe function. */
  on(type, listener) {
    if (!this.listeners[type]) throw new InvalidArgumentError(`on: unknown watch event ${JSON.stringify(type)} (events, status)`);
    if (typeof listener !== 'function') throw new InvalidArgumentError('on: the listener must be a function');
    this.listeners[type].add(listener);
    return () => this.listeners[type].delete(listener);
  }

  /** Counters: connections made, re-syncs, reconnects, events delivered, duplicates dropped. */
  get stats() {
    return { ...this.counts, state: this.state, pending: this.queue.size };
  }

  /**
   * Hands over an event from elsewhere (this session's own, from its `201`
   * body): delivered with the stream's, unless it was already; the
   * stream's copy is then dropped.
   */
  add(event) {
    if (this.done) return;
    this.accept([event]);
  }

  /** Stops watching: closes the socket, drops what was not yet due, ends the iterators. */
  stop() {
    this.finish({ reason: 'stopped' });
  }

  [Symbol.asyncIterator]() {
    const it = { buffer: [], wake: null, end: null };
    this.iterators.add(it);
    this.finished.then((end) => { it.end = end; if (it.wake) it.wake(); });
    const self = this;
    return {
      async next() {
        for (;;) {
          if (it.buffer.length) return { value: it.buffer.shift(), done: false };
          if (it.end) {
            self.iterators.delete(it);
            if (it.end.reason === 'failed') throw it.end.error;
            return { value: undefined, done: true };
          }
          await new Promise((resolve) => { it.wake = resolve; });
          it.wake = null;
        }
      },
      async return() {
        self.iterators.delete(it);
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() { return this; },
    };
  }

  // --- connections ---

  connect() {
    if (this.done) return;
    const base = this.target.baseUrls[this.base % this.target.baseUrls.length];
    const conn = { ws: null, authorized: false, error: null, retired: false, timer: null };
    try {
      conn.ws = new this.WebSocket(wsUrl(base));
    } catch (e) {
      this.emitStatus('reconnecting', e);
      this.scheduleReconnect();
      return conn;
    }
    this.counts.connections++;
    conn.timer = setTimeout(() => { if (!conn.authorized) this.closeSocket(conn, 4000); }, HANDSHAKE_TIMEOUT_MS);
    conn.ws.onopen = () => this.sendPacket(conn, 'authorize', {
      interactive_prompt_uid: this.target.promptUid,
      jwt: this.renewedToken ?? this.target.promptToken,
      bandwidth: this.options.bandwidth,
      lookback: this.options.lookback,
      lookahead: this.options.lookahead,
      replay: this.options.replay,
    });
    conn.ws.onmessage = (message) => this.receive(conn, message.data);
    conn.ws.onerror = () => {}; // the close that follows says what to do
    conn.ws.onclose = (close) => this.closed(conn, close.code);
    if (!this.current) this.current = conn;
    else this.candidate = conn;
    return conn;
  }

  sendPacket(conn, type, data) {
    try {
      conn.ws.send(JSON.stringify({ type, data }));
    } catch {
      this.closeSocket(conn, 4000);
    }
  }

  receive(conn, text) {
    const receivedAt = this.clock();
    if (this.done || conn.retired) return;
    let packet;
    try { packet = JSON.parse(String(text)); } catch { return; }
    switch (packet.type) {
      case 'sync_request': {
        const transmit = Math.max(receivedAt, this.clock());
        this.sendPacket(conn, 'sync_response', { receive_timestamp: receivedAt, transmit_timestamp: transmit });
        break;
      }
      case 'auth_response':
        this.authorized(conn);
        break;
      case 'event_batch':
        if (Array.isArray(packet.data?.events)) this.accept(packet.data.events);
        break;
      case 'latency_detection':
        this.checkDrift(conn, packet.data?.expected_receive_prompt_time, receivedAt);
        break;
      case 'error': {
        const d = packet.data || {};
        conn.error = apiError(Number(d.code) || 0, d.type, d.message);
        break;
      }
      default:
    }
  }

  authorized(conn) {
    conn.authorized = true;
    clearTimeout(conn.timer);
    this.failures = 0;
    if (conn === this.candidate) {
      // A re-sync: the fresh connection takes over, then the old one goes.
      const old = this.current;
      this.current = conn;
      this.candidate = null;
      if (old) this.retire(old);
    }
    this.emitStatus('open');
  }

  /** Re-syncs (a fresh connection, then the old one closes) when the server's idea of our clock is off. */
  checkDrift(conn, expected, receivedAt) {
    if (conn !== this.current || this.candidate || typeof expected !== 'number') return;
    const drift = Math.abs(expected - receivedAt);
    const now = this.clock();
    if (drift <= this.options.maxDrift || Math.abs(now - this.lastResync) < this.options.minResyncSeconds) return;
    this.lastResync = now;
    this.counts.resyncs++;
    this.emitStatus('resyncing');
    this.connect();
  }

  closed(conn, code) {
    clearTimeout(conn.timer);
    if (conn.retired || this.done) return;
    const fatal = conn.error && FATAL.has(conn.error.status) ? conn.error : null;
    if (conn === this.candidate) {
      this.candidate = null;
      if (fatal) this.finish({ reason: 'failed', error: fatal });
      return;
    }
    if (conn !== this.current) return;
    this.current = null;
    if (fatal) {
      this.finish({ reason: 'failed', error: fatal });
    } else if (code === TOKEN_EXPIRED_CLOSE) {
      this.renewToken();
    } else if (code === 1000 && conn.authorized) {
      // The server is done: our clock passed the end.
      this.finish({ reason: 'ended' });
    } else if (this.candidate) {
      // The re-sync under way becomes the reconnection.
    } else {
      this.scheduleReconnect(conn.error);
    }
  }

  scheduleReconnect(error) {
    if (this.done) return;
    const end = this.target.durationSeconds + this.options.lookback + END_GRACE_SECONDS;
    if (this.clock() > end) {
      this.finish({ reason: 'ended' });
      return;
    }
    this.failures++;
    this.counts.reconnects++;
    // Each failed connection moves on to the next server; the first
    // reconnection is at once, later ones back off.
    this.base++;
    const delay = this.failures === 1 ? 0 : backoffDelay(this.failures - 1, RECONNECT);
    this.emitStatus('reconnecting', error);
    this.reconnectTimer = setTimeout(() => { this.reconnectTimer = null; this.connect(); }, delay);
  }

  /**
   * The prompt token expired: the app's `renewToken` gives a fresh one and
   * the watch reconnects with it; without one, the watch fails with
   * `PromptTokenExpiredError`.
   */
  async renewToken() {
    const expired = new PromptTokenExpiredError('the prompt token expired; start a new session (or pass watch a renewToken) to keep watching');
    if (this.candidate) this.retire(this.candidate);
    this.candidate = null;
    if (!this.options.renewToken) return this.finish({ reason: 'failed', error: expired });
    this.emitStatus('reconnecting', expired);
    let token;
    try {
      token = await this.options.renewToken();
    } catch (e) {
      token = e;
    }
    if (this.done) return;
    if (typeof token !== 'string' || !token) return this.finish({ reason: 'failed', error: token instanceof Error ? token : expired });
    // A target whose token follows its owner's (the admin's reader) is left to do so.
    if (token !== this.target.promptToken) this.renewedToken = token;
    this.counts.reconnects++;
    this.connect();
  }

  retire(conn) {
    conn.retired = true;
    this.closeSocket(conn, 1000);
  }

  closeSocket(conn, code) {
    clearTimeout(conn.timer);
    try { conn.ws.close(code); } catch { /* already closing */ }
  }

  // --- delivery ---

  accept(events) {
    let fresh = 0;
    for (const e of events) {
      if (!e || typeof e.uid !== 'string' || typeof e.prompt_time !== 'number') continue;
      if (this.seen.has(e.uid)) {
        this.counts.duplicates++;
        continue;
      }
      this.seen.set(e.uid, e.prompt_time);
      this.queue.push(e);
      fresh++;
    }
    if (fresh) {
      this.prune();
      this.deliverDue();
    }
  }

  /** Forgets uids far enough behind the clock that no connection can send them again. */
  prune() {
    if (this.seen.size < this.pruneAt) return;
    const horizon = this.clock() - this.options.lookback - END_GRACE_SECONDS;
    for (const [uid, t] of this.seen) if (t < horizon) this.seen.delete(uid);
    this.pruneAt = Math.max(10_000, this.seen.size * 2);
  }

  deliverDue() {
    if (this.done) return;
    clearTimeout(this.timer);
    this.timer = null;
    const due = this.queue.takeDue(this.clock());
    if (due.length) {
      this.counts.delivered += due.length;
      for (const listener of this.listeners.events) call(listener, due);
      for (const it of this.iterators) {
        it.buffer.push(...due);
        if (it.wake) it.wake();
      }
    }
    const next = this.queue.peekTime();
    if (next !== undefined) {
      const wait = Math.max(0, Math.min(TICK_MS, (next - this.clock()) * 1000));
      this.timer = setTimeout(() => this.deliverDue(), wait);
    }
  }

  emitStatus(state, error) {
    if (state !== 'resyncing') this.state = state;
    const status = { state, ...this.counts, ...(error ? { error } : {}) };
    for (const listener of this.listeners.status) call(listener, status);
  }

  finish(end) {
    if (this.done) return;
    if (end.reason === 'ended') this.deliverDue();
    this.done = true;
    this.state = end.reason === 'failed' ? 'failed' : 'finished';
    clearTimeout(this.timer);
    clearTimeout(this.reconnectTimer);
    for (const conn of [this.current, this.candidate]) if (conn) this.retire(conn);
    this.current = null;
    this.candidate = null;
    this.emitStatus(this.state, end.error);
    this.resolveFinished(end);
  }
}
