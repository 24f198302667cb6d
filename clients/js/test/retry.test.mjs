// The backoff and Retry-After arithmetic, and the error classes by status
// and type.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, parseRetryAfter } from '../src/retry.js';
import {
  apiError, ApiError, AuthError, ForbiddenError, UnauthorizedError, NotFoundError, EventRuleError,
  ImpossiblePromptTimeError, ImpossibleEventError, TooManyRequestsError, ServiceUnavailableError,
  UnprocessableEntityError, InternalServerError, PayloadTooLargeError, BadRequestError,
} from '../src/index.js';

test('backoff doubles from the base delay up to the cap, jittered between half and all of it', () => {
  const policy = { baseDelayMs: 250, maxDelayMs: 8000 };
  const low = (n) => backoffDelay(n, policy, () => 0);
  const high = (n) => backoffDelay(n, policy, () => 1);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map(high), [250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
  assert.deepEqual([1, 2, 3].map(low), [125, 250, 500]);
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  assert.equal(parseRetryAfter('3'), 3);
  assert.equal(parseRetryAfter(' 0 '), 0);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter('soon'), null);
});

test('each status and type has its class', () => {
  const cases = [
    [400, 'bad_request', BadRequestError], [401, 'not_set', UnauthorizedError], [401, 'bad_format', UnauthorizedError],
    [403, 'invalid', ForbiddenError], [403, 'forbidden', ForbiddenError], [404, 'bin_not_found', NotFoundError],
    [409, 'impossible_prompt_time', ImpossiblePromptTimeError], [409, 'impossible_event', ImpossibleEventError],
    [409, 'some_future_rule', EventRuleError], [413, 'payload_too_large', PayloadTooLargeError],
    [422, 'unprocessable_entity', UnprocessableEntityError], [429, 'too_many_requests', TooManyRequestsError],
    [500, 'internal_error', InternalServerError], [503, 'storage_unavailable', ServiceUnavailableError],
    [418, undefined, ApiError],
  ];
  for (const [status, type, Class] of cases) {
    const e = apiError(status, type, 'message', 2);
    assert.ok(e instanceof Class && e instanceof ApiError, `${status} ${type} → ${Class.name}`);
    assert.equal(e.name, Class.name);
    assert.equal(e.status, status);
    assert.equal(e.type, type ?? `http_${status}`);
    assert.equal(e.retryAfter, 2);
  }
  assert.ok(apiError(403, 'invalid') instanceof AuthError);
  assert.ok(!(apiError(409, 'session_not_found') instanceof AuthError));
});
