// Events waiting for the viewer's clock, in (prompt_time, uid) order.

const before = (a, b) => a.prompt_time < b.prompt_time || (a.prompt_time === b.prompt_time && a.uid < b.uid);

/** A queue of events ordered by `(prompt_time, uid)`. */
export class EventQueue {
  constructor() {
    /** @type {Array<{uid: string, prompt_time: number}>} */
    this.items = [];
  }

  get size() {
    return this.items.length;
  }

  /** Inserts `event` in order (batches arrive ordered, so this is usually an append). */
  push(event) {
    const items = this.items;
    let lo = items.length;
    if (lo && before(event, items[lo - 1])) {
      lo = 0;
      let hi = items.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (before(items[mid], event)) lo = mid + 1;
        else hi = mid;
      }
    }
    items.splice(lo, 0, event);
  }

  /** Removes and returns the events whose prompt time is at or before `t`. */
  takeDue(t) {
    let n = 0;
    while (n < this.items.length && this.items[n].prompt_time <= t) n++;
    return n ? this.items.splice(0, n) : [];
  }

  /** The prompt time of the next event, if any. */
  peekTime() {
    return this.items.length ? this.items[0].prompt_time : undefined;
  }
}
