// Type declarations of the admin side of the client (admin.js, prompts.js).

import type {
  Binning, FetchLike, Prompt, RetryPolicy, SearchPage, SearchQuery, SearchItem, Stats, Timeline,
  WatchOptions, Watcher, WebSocketConstructor, InvalidArgumentError,
} from './index.js';

/** A prompt as the admin API returns it. */
export interface PromptRecord {
  uid: string;
  prompt: Prompt;
  duration_seconds: number;
  /** Unix seconds. */
  created_at: number;
  /** Unix seconds when soft-deleted, else null. */
  deleted_at: number | null;
}
/** The body of `createPrompt`. */
export interface CreatePromptBody { prompt: Prompt; duration_seconds: number }
/** The body of `putNamedPrompt`. */
export interface NamedPromptBody { prompt: Prompt; duration_seconds: number; expires_seconds: number }
/** A named prompt's definition, as the admin API returns it. */
export interface NamedPrompt {
  identifier: string;
  /** Counts the changes of `prompt` or `duration_seconds`, from 1. */
  version: number;
  prompt: Prompt;
  duration_seconds: number;
  expires_seconds: number;
  /** The current instance's uid, or null when there is none. */
  current_uid: string | null;
}
/** What `POST …/{uid}/prompt_token` answers. */
export interface AdminPromptToken { uid: string; jwt: string; expires_in: number }
/** One problem of a prompt: the server's field path and what is wrong. */
export interface PromptProblem { field: string; message: string }

/** Options of `new AdminClient`. */
export interface AdminClientOptions {
  /** The server's URL, or several: a request that gets no answer moves on to the next. */
  baseUrl: string | string[];
  /** `CHORUS_ADMIN_TOKEN`. */
  adminToken: string;
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** Default: the global WebSocket (Node 20 has none: pass the `ws` package's). */
  WebSocket?: WebSocketConstructor;
  /** Overrides of the default retry policy. */
  retry?: Partial<RetryPolicy>;
  /** Milliseconds one try may take (default 30000). */
  timeoutMs?: number;
}

/** The admin's client: prompts, and reading a prompt without taking it. */
export declare class AdminClient {
  /** Throws `InvalidArgumentError` on bad options. */
  constructor(options: AdminClientOptions);
  readonly baseUrls: string[];
  /** A prompt, deleted or not. */
  getPrompt(uid: string): Promise<PromptRecord>;
  /** Creates a prompt; throws `PromptInvalidError` (before any request) when `checkPrompt` finds problems. */
  createPrompt(body: CreatePromptBody): Promise<PromptRecord>;
  /** Soft-deletes a prompt. */
  deletePrompt(uid: string): Promise<PromptRecord>;
  /** A prompt token for reading the prompt (no session is started). */
  promptToken(uid: string): Promise<AdminPromptToken>;
  /** Opens a prompt for reading. */
  openPrompt(uid: string): Promise<PromptReader>;
  /** Creates or updates a named prompt; throws `PromptInvalidError` (before any request) when `checkNamedPrompt` finds problems. */
  putNamedPrompt(identifier: string, body: NamedPromptBody): Promise<NamedPrompt>;
  /** A named prompt's definition (404 `NotFoundError` when unknown or deleted). */
  getNamedPrompt(identifier: string): Promise<NamedPrompt>;
  /** Every named prompt not deleted, by identifier. */
  listNamedPrompts(): Promise<{ items: NamedPrompt[] }>;
  /** Stops starting a named prompt; its instances stay. */
  deleteNamedPrompt(identifier: string): Promise<NamedPrompt>;
}

/** One prompt as the admin reads it; its prompt token is re-minted as needed. */
export declare class PromptReader {
  private constructor();
  readonly promptUid: string;
  readonly prompt: Prompt;
  readonly durationSeconds: number;
  readonly createdAt: number;
  readonly deletedAt: number | null;
  readonly bins: Binning;
  /** The current prompt token. */
  readonly promptToken: string;
  /** Totals through `bin` (0 … `bins.count`). */
  stats(bin: number): Promise<Stats>;
  /** Totals of every bin. */
  timeline(): Promise<Timeline>;
  /** Searches the prompt's events. */
  search(query?: SearchQuery): Promise<SearchPage>;
  /** Every event matching `filters`, in order. */
  searchAll(filters: SearchQuery['filters']): Promise<SearchItem[]>;
  /** Sessions that joined within the last `duration_seconds` and have not left. */
  takingNow(nowSeconds?: number): Promise<number>;
  /** Watches the room as a viewer at `options.clock`'s prompt time. */
  watch(options?: WatchOptions): Watcher;
}

/** `createPrompt` refused a body before sending it. */
export declare class PromptInvalidError extends InvalidArgumentError {
  readonly problems: PromptProblem[];
}

/** The prompt limits (docs/rules.md, Prompts). */
export declare const PROMPT_LIMITS: Readonly<{
  textChars: number; optionChars: number; minChoices: number; maxChoices: number; maxSpan: number; maxDuration: number;
}>;
/** Every problem of a create body, with the server's field paths; empty when valid. */
export declare function checkPrompt(body: unknown): PromptProblem[];
/** Every problem of a named prompt's identifier and `PUT` body, with the server's field paths; empty when valid. */
export declare function checkNamedPrompt(identifier: unknown, body: unknown): PromptProblem[];
/** A named prompt's identifier: 1–64 of `[a-z0-9-]`. */
export declare const IDENTIFIER: RegExp;
/** Shortest `expires_seconds` of a named prompt. */
export declare const MIN_EXPIRES_SECONDS: number;
/** The field a server's 422 names, and its message; null when it names none. */
export declare function fieldOf(error: { message?: string } | string): PromptProblem | null;
/** Trims as the server does (Unicode White_Space). */
export declare function trimText(text: string): string;
