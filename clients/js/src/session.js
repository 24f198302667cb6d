// One participant taking one prompt: events posted strictly in order,
// stats, timeline, search and the live stream (see README).

import { InvalidArgumentError } from './errors.js';
import { binning } from './clock.js';
import { Watcher } from './watch.js';

/** The route of each event type under `/api/1/interactive_prompts/events/`. */
export const EVENT_ROUTES = Object.freeze({
  join: 'join',
  leave: 'leave',
  like: 'like',
  numeric_prompt_response: 'respond_numeric_prompt',
  press_prompt_start_response: 'respond_press_prompt/start',
  press_prompt_end_response: 'respond_press_prompt/end',
  color_prompt_response: 'respond_color_prompt',
  word_prompt_response: 'respond_word_prompt',
});

/**
 * 409s a retry can get when its earlier try was in fact stored: rule 7,
 * and rules 4 and 5, which come first for a `join` and a `leave`.
 */
const STORED_BY_EARLIER_TRY = {
  session_has_same_event_at_same_time: null,
  session_already_started: 'join',
  session_already_ended: 'leave',
};

const isInteger = (v) => typeof v === 'number' && Number.isInteger(v);

/** The stream's shape of an event, from a `201` body or a search item. */
export function eventOf(body) {
  return {
    uid: body.uid,
    user_sub: body.user_sub,
    session_uid: body.session_uid,
    evtype: body.evtype ?? body.type,
    prompt_time: body.prompt_time,
    icon: body.icon ?? null,
    data: body.data,
  };
}

/** Checks a `start_session` body (or one kept from an earlier visit). */
export function checkStarted(started) {
  const ok = started && typeof started === 'object'
    && typeof started.uid === 'string' && started.uid
    && typeof started.jwt === 'string' && started.jwt
    && typeof started.session_uid === 'string' && started.session_uid
    && started.prompt && typeof started.prompt === 'object' && typeof started.prompt.style === 'string'
    && isInteger(started.duration_seconds) && started.duration_seconds >= 1;
  if (!ok) {
    throw new InvalidArgumentError('a started session needs uid, jwt, session_uid, prompt and duration_seconds, as start_session answers');
  }
  return started;
}

/** A session: one user taking one prompt once. Made by `Client.startSession`. */
export class Session {
  /**
   * @param {import('./client.js').Client} client
   * @param {import('./http.js').Transport} transport
   * @param {any} started the `start_session` body
   */
  constructor(client, transport, started) {
    checkStarted(started);
    this.client = client;
    this.transport = transport;
    this.promptUid = started.uid;
    this.promptToken = started.jwt;
    this.sessionUid = started.session_uid;
    this.prompt = started.prompt;
    this.durationSeconds = started.duration_seconds;
    this.bins = binning(this.durationSeconds);
    this.queued = 0;
    /** @type {Promise<void>} */
    this.tail = Promise.resolve();
    /** @type {Set<Watcher>} */
    this.watchers = new Set();
  }

  /** The `start_session` body, to keep and pass to `Client.resumeSession` later. */
  toJSON() {
    return {
      uid: this.promptUid,
      jwt: this.promptToken,
      session_uid: this.sessionUid,
      prompt: this.prompt,
      duration_seconds: this.durationSeconds,
    };
  }

  /** Posts `join` at `promptTime` (default 0). */
  join(promptTime = 0) {
    return this.post('join', promptTime, {});
  }

  /** Posts `leave` at `promptTime`. */
  leave(promptTime) {
    return this.post('leave', promptTime, {});
  }

  /** Posts `like` at `promptTime`. */
  like(promptTime) {
    return this.post('like', promptTime, {});
  }

  /** Numeric prompts: posts `rating` (an integer from `min` to `max`). */
  respondNumeric(promptTime, rating) {
    this.expectStyle('numeric', 'respondNumeric');
    if (!isInteger(rating) || rating < this.prompt.min || rating > this.prompt.max) {
      throw new InvalidArgumentError(`respondNumeric: rating must be an integer from ${this.prompt.min} to ${this.prompt.max}`);
    }
    return this.post('numeric_prompt_response', promptTime, { rating });
  }

  /** Colour prompts: posts the index of the chosen colour. */
  respondColor(promptTime, index) {
    this.expectStyle('color', 'respondColor');
    this.expectIndex(index, this.prompt.colors.length, 'respondColor');
    return this.post('color_prompt_response', promptTime, { index });
  }

  /** Word prompts: posts the index of the chosen word. */
  respondWord(promptTime, index) {
    this.expectStyle('word', 'respondWord');
    this.expectIndex(index, this.prompt.options.length, 'respondWord');
    return this.post('word_prompt_response', promptTime, { index });
  }

  /** Numeric, colour and word prompts: posts a rating or an option index, whichever the style takes. */
  respond(promptTime, answer) {
    switch (this.prompt.style) {
      case 'numeric': return this.respondNumeric(promptTime, answer);
      case 'color': return this.respondColor(promptTime, answer);
      case 'word': return this.respondWord(promptTime, answer);
      default:
        throw new InvalidArgumentError(`respond: a ${this.prompt.style} prompt takes pressStart/pressEnd`);
    }
  }

  /** Press prompts: posts the start of a press. */
  pressStart(promptTime) {
    this.expectStyle('press', 'pressStart');
    return this.post('press_prompt_start_response', promptTime, {});
  }

  /** Press prompts: posts the end of a press. */
  pressEnd(promptTime) {
    this.expectStyle('press', 'pressEnd');
    return this.post('press_prompt_end_response', promptTime, {});
  }

  /** How many events are queued or in flight. */
  get pending() {
    return this.queued;
  }

  /** Resolves once every event posted so far has been stored or refused. */
  idle() {
    return this.tail;
  }

  /**
   * Queues one event: it is sent after every earlier one has settled,
   * retried as the client's policy says, and resolves to the stored event.
   * @param {keyof typeof EVENT_ROUTES} evtype
   * @param {number} promptTime
   * @param {object} data
   */
  post(evtype, promptTime, data) {
    if (!Object.hasOwn(EVENT_ROUTES, evtype)) throw new InvalidArgumentError(`unknown event type ${JSON.stringify(evtype)}`);
    this.expectPromptTime(promptTime, evtype);
    const previous = this.tail;
    let settle = () => {};
    this.tail = new Promise((resolve) => { settle = resolve; });
    this.queued++;
    // The caller's promise is not chained on here, so a rejection the
    // caller ignores is reported as unhandled rather than swallowed.
    return previous.then(async () => {
      try {
        const stored = await this.send(evtype, promptTime, data);
        for (const w of this.watchers) w.add(stored);
        return stored;
      } finally {
        this.queued--;
        settle();
      }
    });
  }

  async send(evtype, promptTime, data) {
    const body = await this.transport.request({
      method: 'POST',
      path: `api/1/interactive_prompts/events/${EVENT_ROUTES[evtype]}`,
      auth: 'user',
      body: {
        interactive_prompt_uid: this.promptUid,
        interactive_prompt_jwt: this.promptToken,
        session_uid: this.sessionUid,
        prompt_time: promptTime,
        data,
      },
      recover: (error) => this.recover(error, evtype, promptTime, data),
    });
    return eventOf(body);
  }

  /**
   * After a retry's 409: finds the event an earlier try stored, if it did
   * (same session, type, prompt time and data); undefined otherwise.
   */
  async recover(error, evtype, promptTime, data) {
    if (!Object.hasOwn(STORED_BY_EARLIER_TRY, error.type)) return undefined;
    const only = STORED_BY_EARLIER_TRY[error.type];
    if (only && only !== evtype) return undefined;
    const page = await this.search({
      filters: {
        session_uid: { operator: 'eq', value: this.sessionUid },
        evtype: { operator: 'eq', value: evtype },
        prompt_time: { operator: 'eq', value: promptTime },
      },
      limit: 1,
    });
    const found = page.items[0];
    if (!found) return undefined;
    // join and leave read back as {name}; the other types as posted.
    const same = evtype === 'join' || evtype === 'leave' || JSON.stringify(found.data) === JSON.stringify(data);
    return same ? eventOf(found) : undefined;
  }

  /** The totals through `bin` (0 … `bins.count`; see docs/api.md, Stats). */
  stats(bin) {
    if (!isInteger(bin) || bin < 0 || bin > this.bins.count) {
      throw new InvalidArgumentError(`stats(bin): bin must be an integer from 0 to ${this.bins.count}`);
    }
    return this.transport.request({
      method: 'GET',
      path: 'api/1/interactive_prompts/events/stats',
      query: { uid: this.promptUid, bin: String(bin) },
      auth: 'prompt',
      promptToken: this.promptToken,
    });
  }

  /** The totals of every bin at once. */
  timeline() {
    return this.transport.request({
      method: 'GET',
      path: 'api/1/interactive_prompts/events/stats/timeline',
      query: { uid: this.promptUid },
      auth: 'prompt',
      promptToken: this.promptToken,
    });
  }

  /** Searches the prompt's events (body as in docs/api.md, Search). */
  search(query = {}) {
    if (!query || typeof query !== 'object' || Array.isArray(query)) {
      throw new InvalidArgumentError('search(query): query must be an object {filters, sort, limit}');
    }
    return this.transport.request({
      method: 'POST',
      path: 'api/1/interactive_prompts/events/search',
      body: query,
      auth: 'prompt',
      promptToken: this.promptToken,
    });
  }

  /**
   * Who is here (docs/api.md, Who is here): up to `limit` (1 … 10) people
   * with a picture in the room at `promptTime`, the caller left out, as
   * `{url, name}`. Throws `InvalidArgumentError` before any request.
   */
  profilePictures(promptTime, limit = 5) {
    this.expectPromptTime(promptTime, 'profilePictures');
    if (!isInteger(limit) || limit < 1 || limit > 10) {
      throw new InvalidArgumentError('profilePictures: limit must be an integer from 1 to 10');
    }
    return this.transport.request({
      method: 'POST',
      path: 'api/1/interactive_prompts/profile_pictures',
      auth: 'user',
      body: { uid: this.promptUid, jwt: this.promptToken, prompt_time: promptTime, limit },
    }).then((body) => body.items.map((item) => item.picture));
  }

  /** Watches the room over the live stream (see README: Watching). */
  watch(options = {}) {
    const watcher = new Watcher({
      baseUrls: this.transport.baseUrls,
      WebSocket: this.client.WebSocket,
      promptUid: this.promptUid,
      promptToken: this.promptToken,
      durationSeconds: this.durationSeconds,
    }, options);
    if (watcher.own) {
      this.watchers.add(watcher);
      watcher.finished.then(() => this.watchers.delete(watcher));
    }
    return watcher;
  }

  expectStyle(style, method) {
    if (this.prompt.style !== style) {
      throw new InvalidArgumentError(`${method}: this prompt's style is ${this.prompt.style}, not ${style}`);
    }
  }

  expectIndex(index, length, method) {
    if (!isInteger(index) || index < 0 || index >= length) {
      throw new InvalidArgumentError(`${method}: index must be an integer from 0 to ${length - 1}`);
    }
  }

  expectPromptTime(t, what) {
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > this.durationSeconds) {
      throw new InvalidArgumentError(`${what}: prompt time must be a finite number of seconds from 0 to ${this.durationSeconds}, not ${String(t)}`);
    }
  }
}
