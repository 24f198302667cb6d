// Prompt time and bins (see docs/rules.md, Bins).

import { InvalidArgumentError } from './errors.js';

const monotonic = () => globalThis.performance.now();

/**
 * A prompt clock: a function returning this participant's prompt time in
 * seconds, `at` now and advancing in real time (monotonic: unaffected by
 * changes of the wall clock).
 * @param {number} [at]
 * @returns {() => number}
 */
export function startClock(at = 0) {
  if (typeof at !== 'number' || !Number.isFinite(at)) {
    throw new InvalidArgumentError('startClock(at): at must be a finite number of seconds');
  }
  const origin = monotonic() - at * 1000;
  return () => (monotonic() - origin) / 1000;
}

/**
 * The bins of a prompt of `durationSeconds`: `count = bins(d)`, `width =
 * d / count`, and `binOf(t)`, the bin of prompt time `t`.
 * @param {number} durationSeconds
 */
export function binning(durationSeconds) {
  if (typeof durationSeconds !== 'number' || !Number.isFinite(durationSeconds) || durationSeconds <= 0) {
    throw new InvalidArgumentError('binning(duration): duration must be a positive number of seconds');
  }
  const count = durationSeconds <= 1 ? 1 : 2 ** Math.ceil(Math.log2(durationSeconds)) - 1;
  const width = durationSeconds / count;
  return Object.freeze({
    count,
    width,
    /** @param {number} t */
    binOf: (t) => Math.max(0, Math.min(count - 1, Math.floor((t * count) / durationSeconds))),
  });
}
