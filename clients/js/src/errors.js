// Typed errors: one class per error `type` the server answers with (see
// docs/api.md and docs/rules.md), so that callers can `instanceof` or
// `switch (error.type)`.

/** Every error this package throws or rejects with. */
export class ChorusError extends Error {
  /**
   * @param {string} message
   * @param {{type?: string, status?: number, cause?: unknown}} [details]
   */
  constructor(message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    /** Machine-readable kind: the server's `type`, or this package's own. */
    this.type = details.type ?? 'chorus_error';
    /** HTTP status (or the stream error packet's `code`), if the server answered. */
    this.status = details.status;
  }
}

/** A bad argument, refused before any request is made. */
export class InvalidArgumentError extends ChorusError {
  /** @param {string} message */
  constructor(message) {
    super(message, { type: 'invalid_argument' });
  }
}

/** No server could be reached (after every retry and every base URL). */
export class NetworkError extends ChorusError {
  /** @param {string} message @param {unknown} [cause] */
  constructor(message, cause) {
    super(message, { type: 'network_error', cause });
  }
}

/**
 * The live stream was closed because its prompt token expired (close code
 * 4401): a fresh token is needed — start a new session, or give `watch` a
 * `renewToken` function.
 */
export class PromptTokenExpiredError extends ChorusError {
  /** @param {string} message */
  constructor(message) {
    super(message, { type: 'prompt_token_expired' });
  }
}

/** The server answered with an error: `status` plus its `{type, message}`. */
export class ApiError extends ChorusError {
  /**
   * @param {number} status
   * @param {string} type
   * @param {string} message
   * @param {number | null} [retryAfter] seconds, from `Retry-After`
   */
  constructor(status, type, message, retryAfter = null) {
    super(message || type || `HTTP ${status}`, { type, status });
    /** Seconds the server asked to wait before trying again, if it said. */
    this.retryAfter = retryAfter;
  }
}

/** 400: the request could not be read. */
export class BadRequestError extends ApiError {}
/** 401 or 403: a token is missing, malformed, invalid, expired or for something else. */
export class AuthError extends ApiError {}
/** 401 `not_set` / `bad_format`: no token, or not `bearer <token>`. */
export class UnauthorizedError extends AuthError {}
/** 403 `invalid` (HTTP) or `forbidden` (stream): a bad, expired or mismatched token. */
export class ForbiddenError extends AuthError {}
/** 404: `not_found`, `interactive_prompt_not_found`, `bin_not_found`, `public_prompt_not_found`, … */
export class NotFoundError extends ApiError {}
/** 409: an event the rules refuse; the subclasses name the rule. */
export class EventRuleError extends ApiError {}
/** 409 `impossible_prompt_time` (rule 2). */
export class ImpossiblePromptTimeError extends EventRuleError {}
/** 409 `session_not_found` (rule 3). */
export class SessionNotFoundError extends EventRuleError {}
/** 409 `session_already_started` (rule 4, a second `join`). */
export class SessionAlreadyStartedError extends EventRuleError {}
/** 409 `session_not_started` (rule 4, an event before `join`). */
export class SessionNotStartedError extends EventRuleError {}
/** 409 `session_already_ended` (rule 5, an event after `leave`). */
export class SessionAlreadyEndedError extends EventRuleError {}
/** 409 `session_has_later_event` (rule 6, an event earlier than one stored). */
export class SessionHasLaterEventError extends EventRuleError {}
/** 409 `session_has_same_event_at_same_time` (rule 7). */
export class SessionHasSameEventAtSameTimeError extends EventRuleError {}
/** 409 `impossible_event` (rule 8, the type does not suit the prompt's style). */
export class ImpossibleEventError extends EventRuleError {}
/** 409 `impossible_event_data` (rule 9, a rating or index out of range, a press end while not pressing, …). */
export class ImpossibleEventDataError extends EventRuleError {}
/** 413 `payload_too_large`. */
export class PayloadTooLargeError extends ApiError {}
/** 422 `unprocessable_entity`: a malformed body or out-of-range value. */
export class UnprocessableEntityError extends ApiError {}
/** 429 `too_many_requests`: too many events for this session; see `retryAfter`. */
export class TooManyRequestsError extends ApiError {}
/** 500 `internal_error`. */
export class InternalServerError extends ApiError {}
/** 503 `storage_unavailable`, `unavailable` or `too_many_streams`: try again shortly. */
export class ServiceUnavailableError extends ApiError {}

const RULES = {
  impossible_prompt_time: ImpossiblePromptTimeError,
  session_not_found: SessionNotFoundError,
  session_already_started: SessionAlreadyStartedError,
  session_not_started: SessionNotStartedError,
  session_already_ended: SessionAlreadyEndedError,
  session_has_later_event: SessionHasLaterEventError,
  session_has_same_event_at_same_time: SessionHasSameEventAtSameTimeError,
  impossible_event: ImpossibleEventError,
  impossible_event_data: ImpossibleEventDataError,
};

const BY_STATUS = {
  400: BadRequestError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  409: EventRuleError,
  413: PayloadTooLargeError,
  422: UnprocessableEntityError,
  429: TooManyRequestsError,
  500: InternalServerError,
  503: ServiceUnavailableError,
};

/**
 * The typed error for a server's answer (an HTTP error response or a
 * stream error packet).
 * @param {number} status
 * @param {string | undefined} type
 * @param {string | undefined} message
 * @param {number | null} [retryAfter]
 * @returns {ApiError}
 */
export function apiError(status, type, message, retryAfter = null) {
  const kind = type || `http_${status}`;
  const Class = (status === 409 && Object.hasOwn(RULES, kind) ? RULES[kind] : BY_STATUS[status]) || ApiError;
  return new Class(status, kind, message || `${kind} (HTTP ${status})`, retryAfter);
}
