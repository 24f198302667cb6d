// @ts-check
// A complete, minimal app of its own on the Chorus client package: it
// takes one prompt from start to end in a terminal — joins, answers now
// and then, likes, leaves at the end — and prints the room as it happens:
// everyone's answers at their moment (replayed history and people taking
// it right now), the totals every few seconds, and the whole prompt at
// the end.
//
// Against a dev-mode server (`chorus demo`, or `chorus serve --dev`):
//
//   node examples/take-prompt.mjs http://127.0.0.1:8080 [prompt_uid] [name]
//
// Node 20 has no global WebSocket: add `--experimental-websocket` (Node
// 22 and browsers need nothing). Without a prompt uid it takes the first
// prompt the server lists (dev mode only).

import { ChorusError, Client, devLogin, devPrompts, startClock } from '../src/index.js';

/** @type {{argv: string[], exitCode?: number}} Node's `process` (read untyped: this file needs no Node type package). */
const node = /** @type {any} */ (globalThis).process;
const [baseUrl = 'http://127.0.0.1:8080', promptArg, name = 'Example'] = node.argv.slice(2);

/** @param {number} t */
const at = (t) => `[${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, '0')}]`;
/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  if (typeof globalThis.WebSocket !== 'function') {
    throw new Error('this Node has no global WebSocket: run it with `node --experimental-websocket` (Node 20) or on Node ≥ 22');
  }
  // A real app gets the user token from its identity provider; a dev-mode
  // server hands one out for a name.
  const client = new Client({
    baseUrl,
    getUserToken: async () => (await devLogin(baseUrl, name)).user_jwt,
  });
  const promptUid = promptArg ?? (await devPrompts(baseUrl))[0]?.uid;
  if (!promptUid) throw new Error('the server lists no prompts; pass a prompt uid');

  const session = await client.startSession(promptUid);
  const { prompt, durationSeconds } = session;
  console.log(`${prompt.text} (${prompt.style}, ${durationSeconds} s)`);

  /** The label of an answer, from its rating or option index. */
  const choices = prompt.style === 'numeric'
    ? Array.from({ length: prompt.max - prompt.min + 1 }, (_, i) => String(prompt.min + i))
    : prompt.style === 'color' ? prompt.colors : prompt.style === 'word' ? prompt.options : [];
  /** @type {Partial<Record<import('../src/index.js').EventType, string>>} */
  const verbs = {
    join: 'joined', leave: 'left', like: 'liked this moment',
    press_prompt_start_response: 'started pressing', press_prompt_end_response: 'let go',
  };
  /** @type {Map<string, string>} display names by session, learned from join events */
  const names = new Map();

  const clock = startClock(0);
  const watcher = session.watch({ clock, bandwidth: 20, lookback: 1.5, lookahead: 1.5 });
  watcher.on('events', (events) => {
    for (const e of events) {
      if (e.data.name) names.set(e.session_uid, e.data.name);
      const who = e.session_uid === session.sessionUid ? 'You' : names.get(e.session_uid) ?? 'Someone';
      const index = e.data.rating !== undefined && prompt.style === 'numeric' ? e.data.rating - prompt.min : e.data.index;
      const what = verbs[e.evtype] ?? `chose ${index === undefined ? '?' : choices[index]}`;
      console.log(`${at(e.prompt_time)} ${who} ${what}`);
    }
  });
  watcher.on('status', (s) => {
    if (s.state === 'reconnecting') console.log(`(reconnecting: ${s.error?.message ?? 'connection lost'})`);
  });
  // Names of people replayed from the history travel on their join events.
  session.search({ filters: { evtype: { operator: 'eq', value: 'join' } }, limit: 1000 })
    .then((page) => { for (const e of page.items) if (e.data.name) names.set(e.session_uid, e.data.name); })
    .catch(() => {});

  await session.join(0);
  let pressing = false;
  let lastTotals = 0;
  while (clock() < durationSeconds) {
    await sleep(250);
    const t = Math.min(clock(), durationSeconds);
    // This participant changes their mind now and then, and likes a moment.
    if (Math.random() < 0.06) {
      if (prompt.style === 'press') {
        (pressing ? session.pressEnd(t) : session.pressStart(t)).catch(report);
        pressing = !pressing;
      } else {
        session.respond(t, prompt.style === 'numeric' ? prompt.min + Math.floor(Math.random() * choices.length) : Math.floor(Math.random() * choices.length)).catch(report);
      }
    }
    if (Math.random() < 0.02) session.like(t).catch(report);
    if (t - lastTotals >= 3) {
      lastTotals = t;
      const s = await session.stats(session.bins.binOf(t));
      console.log(`${at(t)} — ${s.users} here, ${s.likes} likes`);
    }
  }
  if (pressing) session.pressEnd(durationSeconds).catch(report);
  await session.leave(durationSeconds);

  const tl = await session.timeline();
  const peak = tl.users.reduce((best, n, b) => (n > tl.users[best] ? b : best), 0);
  console.log(`The whole prompt: ${tl.bins} bins; most people (${tl.users[peak]}) around ${at(peak * tl.bin_width)}, ${tl.likes.reduce((a, b) => a + b, 0)} likes.`);
  // Events up to a moment ago may still be on their way: let them in.
  await sleep(1500);
  watcher.stop();
  console.log(`Done: ${watcher.stats.delivered} events seen.`);
}

/** @param {unknown} e */
function report(e) {
  console.error(e instanceof ChorusError ? `${e.name} (${e.type}): ${e.message}` : e);
}

main().catch((e) => {
  report(e);
  node.exitCode = 1;
});
