// The live stream (docs/stream-protocol.md): authorize, answer the clock sync, then receive
// event batches. Events are handed over as they arrive; the room shows each
// when the prompt clock reaches its prompt_time.

const LOOKBACK = 1.5;
const LOOKAHEAD = 1.5;
const BANDWIDTH = 20;
const MAX_DRIFT = 1.0;

/**
 * Watches a session's prompt. `clock()` is this participant's prompt time
 * in seconds; `onEvents(items)` receives each batch. Reconnects (and syncs
 * again) if the server goes away before the prompt is over; events seen
 * twice are dropped by uid.
 */
export class LiveStream {
  constructor(session, clock, onEvents) {
    this.session = session;
    this.clock = clock;
    this.onEvents = onEvents;
    this.seen = new Set();
    this.closed = false;
    this.retries = 0;
    this.resyncs = 0;
    this.open();
  }

  /**
   * Hands over an event this participant posted (its `201` body, whose
   * `type` is the stream's `evtype`), unless the stream delivered it
   * already; the stream's copy, if it comes, is then dropped.
   */
  own(stored) {
    if (this.seen.has(stored.uid)) return;
    this.seen.add(stored.uid);
    const { type, ...rest } = stored;
    this.onEvents([{ ...rest, evtype: type }]);
  }

  open() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/api/2/interactive_prompts/live`);
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({
        type: 'authorize',
        data: {
          interactive_prompt_uid: this.session.uid,
          jwt: this.session.jwt,
          bandwidth: BANDWIDTH,
          lookback: LOOKBACK,
          lookahead: LOOKAHEAD,
          replay: true,
        },
      }));
    };
    ws.onmessage = (message) => this.receive(ws, message.data);
    ws.onclose = (close) => {
      if (this.closed || close.code === 1000 || close.code === 1008) return;
      if (this.retries++ < 5) setTimeout(() => { if (!this.closed) this.open(); }, 1000);
    };
  }

  receive(ws, text) {
    const receivedAt = this.clock();
    let packet;
    try { packet = JSON.parse(text); } catch { return; }
    if (packet.type === 'sync_request') {
      ws.send(JSON.stringify({
        type: 'sync_response',
        data: { receive_timestamp: receivedAt, transmit_timestamp: Math.max(receivedAt, this.clock()) },
      }));
    } else if (packet.type === 'auth_response') {
      this.retries = 0;
    } else if (packet.type === 'event_batch') {
      const fresh = packet.data.events.filter((e) => !this.seen.has(e.uid));
      for (const e of fresh) this.seen.add(e.uid);
      if (fresh.length) this.onEvents(fresh);
    } else if (packet.type === 'latency_detection') {
      // The server's idea of our clock drifted (a stalled tab, a slow
      // network): connect again and sync afresh; replayed duplicates are
      // dropped by uid.
      const drift = Math.abs(packet.data.expected_receive_prompt_time - receivedAt);
      if (drift > MAX_DRIFT && this.resyncs < 3) {
        this.resyncs++;
        ws.onclose = null;
        ws.close(1000);
        this.open();
      }
    } else if (packet.type === 'error') {
      console.warn('chorus stream:', packet.data && packet.data.message);
    }
  }

  /** Stops watching. */
  close() {
    this.closed = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
  }
}
