// Backoff with jitter, and sleeping that a stop can cut short.

/** The default retry policy of requests (see README: Retries). */
export const DEFAULT_RETRY = Object.freeze({
  /** Most tries of one request, the first included. */
  attempts: 10,
  /** Milliseconds before the first retry; doubled each time. */
  baseDelayMs: 250,
  /** The longest wait between two tries, in milliseconds. */
  maxDelayMs: 8000,
});

/**
 * Milliseconds to wait before retry number `retry` (1 for the first):
 * exponential, capped, with "equal jitter" (half fixed, half random) so
 * that many clients failing together do not retry together.
 * @param {number} retry
 * @param {{baseDelayMs: number, maxDelayMs: number}} policy
 * @param {() => number} [random]
 */
export function backoffDelay(retry, policy, random = Math.random) {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

/**
 * Seconds from a `Retry-After` header (delta-seconds or an HTTP date), or
 * null when absent or unreadable.
 * @param {string | null} value
 * @param {number} [now] ms since the epoch
 */
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, (at - now) / 1000);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
