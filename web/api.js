// The public HTTP API (docs/api.md), as any client app would call it.

/** An error answered by the server: HTTP status plus its `{type, message}`. */
export class ApiError extends Error {
  constructor(status, type, message) {
    super(message || type || `HTTP ${status}`);
    this.status = status;
    this.type = type;
  }
}

async function call(path, { method = 'GET', token, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!response.ok) {
    throw new ApiError(response.status, json && json.type, json && json.message);
  }
  return json;
}

/** Dev mode: a user token for a display name. */
export async function devLogin(name) {
  const body = await call('/api/1/dev/login', { method: 'POST', body: { name } });
  return body.user_jwt;
}

/** Dev mode: the prompts one can take. */
export async function listPrompts() {
  const body = await call('/api/1/dev/prompts');
  return body.items;
}

/** Starts a session: `{uid, jwt, session_uid, prompt, duration_seconds}`. */
export function startSession(userJwt, promptUid) {
  return call('/api/1/interactive_prompts/start_session', {
    method: 'POST', token: userJwt, body: { interactive_prompt_uid: promptUid },
  });
}

/** Posts one event of a session on `route` (e.g. `join`, `respond_press_prompt/start`). */
export function postEvent(userJwt, session, route, promptTime, data = {}) {
  return call(`/api/1/interactive_prompts/events/${route}`, {
    method: 'POST',
    token: userJwt,
    body: {
      interactive_prompt_uid: session.uid,
      interactive_prompt_jwt: session.jwt,
      session_uid: session.session_uid,
      prompt_time: promptTime,
      data,
    },
  });
}

/** Searches the prompt's events (docs/api.md, "Search"): `{items, next_page_sort}`. */
export function search(session, body) {
  return call('/api/1/interactive_prompts/events/search', { method: 'POST', token: session.jwt, body });
}

/** Totals through `bin`. */
export function stats(session, bin) {
  const q = new URLSearchParams({ uid: session.uid, bin: String(bin) });
  return call(`/api/1/interactive_prompts/events/stats?${q}`, { token: session.jwt });
}

/** Totals of every bin. */
export function timeline(session) {
  const q = new URLSearchParams({ uid: session.uid });
  return call(`/api/1/interactive_prompts/events/stats/timeline?${q}`, { token: session.jwt });
}

/** The binning of docs/rules.md, "Bins": `bins(d)` and the bin of prompt time `t`. */
export function binning(duration) {
  const count = duration <= 1 ? 1 : 2 ** Math.ceil(Math.log2(duration)) - 1;
  const width = duration / count;
  return {
    count,
    width,
    binOf: (t) => Math.max(0, Math.min(count - 1, Math.floor((t * count) / duration))),
  };
}

/**
 * Posts a session's events one after the other, so that they reach the
 * server in prompt-time order (the rules refuse an event earlier than one
 * already stored).
 */
export class EventQueue {
  constructor(userJwt, session) {
    this.userJwt = userJwt;
    this.session = session;
    this.tail = Promise.resolve();
  }

  post(route, promptTime, data) {
    const run = () => postEvent(this.userJwt, this.session, route, promptTime, data);
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => {});
    return result;
  }
}
