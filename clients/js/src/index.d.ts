// Type declarations of Chorus's JavaScript client (hand-written; the
// package is plain ES modules and needs no build step). See README.md.
export * from './admin.js';

// ---------------------------------------------------------------- data

/** A numeric prompt: a rating from `min` to `max`. */
export interface NumericPrompt { style: 'numeric'; text: string; min: number; max: number; step: number }
/** A press prompt: press and hold. */
export interface PressPrompt { style: 'press'; text: string }
/** A colour prompt: one of 2–8 `#RRGGBB` colours. */
export interface ColorPrompt { style: 'color'; text: string; colors: string[] }
/** A word prompt: one of 2–8 words. */
export interface WordPrompt { style: 'word'; text: string; options: string[] }
/** Any prompt. */ export type Prompt = NumericPrompt | PressPrompt | ColorPrompt | WordPrompt;

/** The event types. */
export type EventType =
  | 'join' | 'leave' | 'like'
  | 'numeric_prompt_response'
  | 'press_prompt_start_response' | 'press_prompt_end_response'
  | 'color_prompt_response' | 'word_prompt_response';

/** What an event carries: `{name}` on join/leave, `{rating}` or `{index}` on responses, else `{}`. */
export interface EventData { name?: string; rating?: number; index?: number }

/**
 * An event as the stream delivers it. Events this package posts resolve
 * to the same shape (the `201` body's `type` is given as `evtype`).
 */
export interface ChorusEvent {
  uid: string;
  user_sub: string;
  session_uid: string;
  evtype: EventType;
  /** Seconds into the prompt. */
  prompt_time: number;
  /** The user's picture URL, or null. */
  icon: string | null;
  data: EventData;
}

/** A search result item. */
export interface SearchItem extends ChorusEvent {
  interactive_prompt_uid: string;
  /** Unix seconds when the server stored it. */
  created_at: number;
}

/** A text filter of search. */
export interface TextFilter { operator: 'eq' | 'neq'; value: string }
/** A number filter of search. */
export type NumberFilter =
  | { operator: 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte'; value: number }
  | { operator: 'bt' | 'bte'; value: [number, number] };
/** One sort key of search. */
export interface SortItem { key: 'prompt_time' | 'uid' | 'random'; dir: 'asc' | 'desc' | 'asc_eq' | 'desc_eq'; after?: string | number | null }

/** The body of a search (docs/api.md, Search). */
export interface SearchQuery {
  filters?: {
    user_sub?: TextFilter;
    session_uid?: TextFilter;
    interactive_prompt_uid?: TextFilter;
    evtype?: TextFilter;
    prompt_time?: NumberFilter;
    created_at?: NumberFilter;
    dropout_for_total?: { operator: 'eq'; value: number };
  };
  sort?: SortItem[];
  /** 1 … 5000, default 100. */
  limit?: number;
}

/** A page of search results; pass `next_page_sort` as `sort` for the next page. */
export interface SearchPage { items: SearchItem[]; next_page_sort: SortItem[] | null }

/** Totals through one bin (only the fields of the prompt's style are non-null). */
export interface Stats {
  prompt_time: number;
  bin_width: number;
  users: number;
  likes: number;
  numeric_active: Record<string, number> | null;
  press_active: number | null;
  press: number | null;
  color_active: number[] | null;
  word_active: number[] | null;
}

/** Totals of every bin, as arrays indexed by bin. */
export interface Timeline {
  bin_width: number;
  bins: number;
  users: number[];
  likes: number[];
  numeric_active: Array<Record<string, number>> | null;
  press_active: number[] | null;
  press: number[] | null;
  color_active: number[][] | null;
  word_active: number[][] | null;
}

/** The body of `start_session`: what `Session.toJSON()` gives and `Client.resumeSession` takes. */
export interface StartedSession {
  /** The prompt's uid. */
  uid: string;
  /** The prompt token. */
  jwt: string;
  session_uid: string;
  prompt: Prompt;
  duration_seconds: number;
}

/** The bins of a prompt (docs/rules.md, Bins). */
export interface Binning {
  /** `bins(duration)`. */
  readonly count: number;
  /** `duration / count` seconds. */
  readonly width: number;
  /** The bin of prompt time `t`. */
  binOf(t: number): number;
}

// ---------------------------------------------------------------- client

/** The minimal fetch this package needs (the global one fits). */
export type FetchLike = (url: string, init: {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}) => Promise<{
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/** The minimal WebSocket this package needs (browsers', Node ≥ 22's, or the `ws` package's). */
export interface WebSocketLike {
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: any }) => void) | null;
  onerror: ((event: any) => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
/** A WebSocket constructor. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** How requests are retried (README: Retries). */
export interface RetryPolicy {
  /** Most tries of one request, the first included (default 10). */
  attempts: number;
  /** Milliseconds before the first retry, doubled each time (default 250). */
  baseDelayMs: number;
  /** Longest wait between tries (default 8000). */
  maxDelayMs: number;
}
/** The default retry policy. */
export declare const DEFAULT_RETRY: Readonly<RetryPolicy>;

/** What `getUserToken` is told. */
export interface UserTokenContext {
  /** The token the server just refused (403), or null on the first call. */
  refused: string | null;
}

/** Options of `new Client`. */
export interface ClientOptions {
  /** The server's URL, or several: a request that gets no answer moves on to the next. */
  baseUrl: string | string[];
  /** The user token (from your identity provider); called again after a 403. */
  getUserToken: (context: UserTokenContext) => string | Promise<string>;
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** Default: the global WebSocket (Node 20 has none: pass the `ws` package's). */
  WebSocket?: WebSocketConstructor;
  /** Overrides of the default retry policy. */
  retry?: Partial<RetryPolicy>;
  /** Milliseconds one try may take before it counts as a network error (default 30000). */
  timeoutMs?: number;
}

/** A Chorus client for one app user. */
export declare class Client {
  /** Throws `InvalidArgumentError` on bad options. */
  constructor(options: ClientOptions);
  /** The server URLs, in the order they are tried. */
  readonly baseUrls: string[];
  /** The WebSocket constructor streams use, if one was given. */
  readonly WebSocket: WebSocketConstructor | undefined;
  /** Starts a session of a prompt (`start_session`). */
  startSession(promptUid: string): Promise<Session>;
  /** Starts a session of a named prompt's current instance (`start_public`). */
  startPublic(identifier: string): Promise<Session>;
  /** Carries on with a session started earlier (its `toJSON()`). */
  resumeSession(started: StartedSession): Session;
}

/** One user taking one prompt once. Every event method throws `InvalidArgumentError` synchronously on a bad argument. */
export declare class Session {
  private constructor();
  readonly client: Client;
  readonly promptUid: string;
  /** The prompt token (valid for 30 minutes). */
  readonly promptToken: string;
  readonly sessionUid: string;
  readonly prompt: Prompt;
  readonly durationSeconds: number;
  readonly bins: Binning;
  /** Events queued or in flight. */
  readonly pending: number;
  /** The `start_session` body, to keep for `Client.resumeSession`. */
  toJSON(): StartedSession;

  /** Posts `join` (default at 0). */
  join(promptTime?: number): Promise<ChorusEvent>;
  /** Posts `leave`. */
  leave(promptTime: number): Promise<ChorusEvent>;
  /** Posts `like`. */
  like(promptTime: number): Promise<ChorusEvent>;
  /** Numeric prompts: a rating from `min` to `max`. */
  respondNumeric(promptTime: number, rating: number): Promise<ChorusEvent>;
  /** Colour prompts: the index of the colour. */
  respondColor(promptTime: number, index: number): Promise<ChorusEvent>;
  /** Word prompts: the index of the word. */
  respondWord(promptTime: number, index: number): Promise<ChorusEvent>;
  /** Numeric, colour or word prompts: the rating or index the style takes. */
  respond(promptTime: number, answer: number): Promise<ChorusEvent>;
  /** Press prompts: a press starts. */
  pressStart(promptTime: number): Promise<ChorusEvent>;
  /** Press prompts: the press ends. */
  pressEnd(promptTime: number): Promise<ChorusEvent>;
  /** Any event type with its data (checked only for type and prompt time). */
  post(evtype: EventType, promptTime: number, data: object): Promise<ChorusEvent>;
  /** Resolves once every event posted so far was stored or refused (never rejects). */
  idle(): Promise<void>;

  /** Totals through `bin` (0 … `bins.count`). */
  stats(bin: number): Promise<Stats>;
  /** Totals of every bin. */
  timeline(): Promise<Timeline>;
  /** Searches the prompt's events. */
  search(query?: SearchQuery): Promise<SearchPage>;
  /** Who is here: up to `limit` (1 … 10, default 5) people with a picture in the room at `promptTime`, the caller left out. */
  profilePictures(promptTime: number, limit?: number): Promise<Picture[]>;
  /** Watches the room over the live stream. */
  watch(options?: WatchOptions): Watcher;
}

/** A person in the room (`profilePictures`). */
export interface Picture { url: string; name: string }

/** The route of each event type. */
export declare const EVENT_ROUTES: Readonly<Record<EventType, string>>;

// ---------------------------------------------------------------- stream

/** Options of `Session.watch` (docs/stream-protocol.md, Choosing the parameters). */
export interface WatchOptions {
  /** Most events per second, an integer 1 … 5000 (default 50). */
  bandwidth?: number;
  /** Seconds behind the clock a near-live event may be and still come, 0 … 10 (default 1.5). */
  lookback?: number;
  /** Seconds ahead of the clock events may arrive, 0 … 10 (default 1.5). */
  lookahead?: number;
  /** Replay everyone's stored history (default true). */
  replay?: boolean;
  /** The viewer's prompt clock in seconds (default: `startClock(0)` at the call). */
  clock?: () => number;
  /** Also deliver this session's own posted events, from their `201`s (default true). */
  own?: boolean;
  /** Re-sync when the server's idea of the clock is off by more than this many seconds (default 0.5). */
  maxDrift?: number;
  /** At most one re-sync per this many seconds of prompt time (default 10). */
  minResyncSeconds?: number;
  /**
   * Called when the server closes the stream because the prompt token
   * expired (close 4401): return a fresh prompt token for the same prompt
   * (e.g. from a new session) and the watch reconnects with it. Without
   * it, the watch fails with `PromptTokenExpiredError`.
   */
  renewToken?: () => string | Promise<string>;
}

/** The state of a watch. */
export type WatchState = 'connecting' | 'open' | 'reconnecting' | 'resyncing' | 'finished' | 'failed';

/** Counters of a watch. */
export interface WatchCounts {
  /** Connections opened (the first, re-syncs and reconnects). */
  connections: number;
  resyncs: number;
  reconnects: number;
  /** Events delivered to the app. */
  delivered: number;
  /** Copies dropped because their uid was delivered or waiting already. */
  duplicates: number;
}

/** A status change of a watch. */
export interface WatchStatus extends WatchCounts {
  state: WatchState;
  /** Why, when a connection failed or the watch failed. */
  error?: ChorusError;
}

/** How a watch ended. */
export interface WatchEnd {
  /** `ended`: the prompt is over for this viewer; `stopped`: `stop()`; `failed`: see `error`. */
  reason: 'ended' | 'stopped' | 'failed';
  error?: ChorusError;
}

/**
 * A watch of a room: events delivered in `(prompt_time, uid)` order when
 * the clock reaches their prompt time (late ones at once), each once.
 * Iterate it (`for await`) or listen with `on('events')`.
 */
export declare class Watcher implements AsyncIterable<ChorusEvent> {
  private constructor();
  /** The clock events are delivered by. */
  readonly clock: () => number;
  /** Resolves (never rejects) when the watch ends. */
  readonly finished: Promise<WatchEnd>;
  /** Counters, the state, and how many events wait for their time. */
  readonly stats: WatchCounts & { state: WatchState; pending: number };
  /** Events, in order, as their time comes; returns the unsubscribe function. */
  on(type: 'events', listener: (events: ChorusEvent[]) => void): () => void;
  /** Status changes (connecting, open, re-syncing, reconnecting, finished, failed). */
  on(type: 'status', listener: (status: WatchStatus) => void): () => void;
  /** Hands over an event from elsewhere (e.g. a 201): delivered unless already, its stream copy then dropped. */
  add(event: ChorusEvent): void;
  /** Stops: closes the socket, drops what is not yet due, ends the iterators. */
  stop(): void;
  /** Events one by one; ends when the watch ends, throws its error if it failed. */
  [Symbol.asyncIterator](): AsyncIterator<ChorusEvent>;
}

// ---------------------------------------------------------------- helpers

/** A prompt clock at `at` seconds now, advancing in real time (monotonic). */
export declare function startClock(at?: number): () => number;
/** The bins of a prompt of `durationSeconds`. */
export declare function binning(durationSeconds: number): Binning;

/** Dev mode only: a user token for a fresh user named `name`. */
export declare function devLogin(baseUrl: string | string[], name: string, options?: { fetch?: FetchLike }): Promise<{ user_jwt: string; sub: string }>;
/** Dev mode only: the prompts that are not deleted, oldest first. */
export declare function devPrompts(baseUrl: string | string[], options?: { fetch?: FetchLike }): Promise<Array<{ uid: string; prompt: Prompt; duration_seconds: number }>>;

// ---------------------------------------------------------------- errors

/** Every error of this package. */
export declare class ChorusError extends Error {
  /** The server's error `type`, or `invalid_argument` / `network_error`. */
  readonly type: string;
  /** The HTTP status (or the stream error's `code`), when the server answered. */
  readonly status: number | undefined;
}
/** A bad argument, thrown before any request. */
export declare class InvalidArgumentError extends ChorusError { readonly type: 'invalid_argument' }
/** No answer from any server after every retry. */
export declare class NetworkError extends ChorusError { readonly type: 'network_error' }
/** The stream's prompt token expired (close 4401); pass `watch` a `renewToken` to carry on. */
export declare class PromptTokenExpiredError extends ChorusError { readonly type: 'prompt_token_expired' }
/** The server answered with an error. */
export declare class ApiError extends ChorusError {
  readonly status: number;
  /** Seconds the server asked to wait (`Retry-After`), or null. */
  readonly retryAfter: number | null;
}
/** 400 `bad_request`. */
export declare class BadRequestError extends ApiError {}
/** 401 or 403. */
export declare class AuthError extends ApiError {}
/** 401 `not_set` / `bad_format`. */
export declare class UnauthorizedError extends AuthError {}
/** 403 `invalid` / `forbidden`: a bad, expired or mismatched token. */
export declare class ForbiddenError extends AuthError {}
/** 404 (`not_found`, `interactive_prompt_not_found`, `bin_not_found`, …). */
export declare class NotFoundError extends ApiError {}
/** 409: an event the rules refuse (docs/rules.md). */
export declare class EventRuleError extends ApiError {}
/** 409 `impossible_prompt_time`. */
export declare class ImpossiblePromptTimeError extends EventRuleError {}
/** 409 `session_not_found`. */
export declare class SessionNotFoundError extends EventRuleError {}
/** 409 `session_already_started`. */
export declare class SessionAlreadyStartedError extends EventRuleError {}
/** 409 `session_not_started`. */
export declare class SessionNotStartedError extends EventRuleError {}
/** 409 `session_already_ended`. */
export declare class SessionAlreadyEndedError extends EventRuleError {}
/** 409 `session_has_later_event`. */
export declare class SessionHasLaterEventError extends EventRuleError {}
/** 409 `session_has_same_event_at_same_time`. */
export declare class SessionHasSameEventAtSameTimeError extends EventRuleError {}
/** 409 `impossible_event`. */
export declare class ImpossibleEventError extends EventRuleError {}
/** 409 `impossible_event_data`. */
export declare class ImpossibleEventDataError extends EventRuleError {}
/** 413 `payload_too_large`. */
export declare class PayloadTooLargeError extends ApiError {}
/** 422 `unprocessable_entity`. */
export declare class UnprocessableEntityError extends ApiError {}
/** 429 `too_many_requests`. */
export declare class TooManyRequestsError extends ApiError {}
/** 500 `internal_error`. */
export declare class InternalServerError extends ApiError {}
/** 503 `storage_unavailable` / `unavailable` / `too_many_streams`. */
export declare class ServiceUnavailableError extends ApiError {}
/** The typed error for a server's answer. */
export declare function apiError(status: number, type: string | undefined, message: string | undefined, retryAfter?: number | null): ApiError;
