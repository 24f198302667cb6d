// Type-checked only (`tsc --noEmit`), never run: every call of the package
// as an app written in TypeScript would make it.

import {
  Client, Session, Watcher, startClock, binning, devLogin, devPrompts, DEFAULT_RETRY, EVENT_ROUTES,
  ChorusError, InvalidArgumentError, NetworkError, ApiError, AuthError, ForbiddenError, UnauthorizedError,
  NotFoundError, EventRuleError, SessionHasSameEventAtSameTimeError, SessionAlreadyEndedError,
  TooManyRequestsError, ServiceUnavailableError, PromptTokenExpiredError,
  type ChorusEvent, type Stats, type Timeline, type SearchPage, type StartedSession, type WatchEnd, type WatchStatus,
} from '../../src/index.js';

export async function everyCall(): Promise<void> {
  const client = new Client({
    baseUrl: ['https://chorus-a.example', 'https://chorus-b.example'],
    getUserToken: async ({ refused }) => (refused ? 'fresh' : 'cached'),
    retry: { attempts: 5 },
    timeoutMs: 10_000,
  });
  const bases: string[] = client.baseUrls;
  const session: Session = await client.startSession('ip_x');
  const other: Session = await client.startSession('ip_y');
  const named: Session = await client.startPublic('onboarding-mood');
  void named.promptUid;
  const kept: StartedSession = session.toJSON();
  const again: Session = client.resumeSession(kept);
  const clock = startClock(0);

  const joined: ChorusEvent = await session.join();
  const liked: ChorusEvent = await session.like(clock());
  await session.respond(1, 3);
  await session.respondNumeric(1.5, 4);
  await other.respondColor(2, 1);
  await other.respondWord(2.5, 0);
  await again.pressStart(3);
  await again.pressEnd(3.5);
  await session.post('like', 4, {});
  await session.leave(session.durationSeconds);
  await session.idle();
  const pending: number = session.pending;

  const stats: Stats = await session.stats(session.bins.binOf(clock()));
  const users: number = stats.users;
  const tl: Timeline = await session.timeline();
  const page: SearchPage = await session.search({
    filters: { evtype: { operator: 'eq', value: 'join' }, prompt_time: { operator: 'bt', value: [0, 5] } },
    sort: [{ key: 'prompt_time', dir: 'asc' }],
    limit: 100,
  });
  const next = page.next_page_sort ? await session.search({ sort: page.next_page_sort }) : null;

  const watcher: Watcher = session.watch({ bandwidth: 50, lookback: 1.5, lookahead: 1.5, replay: true, clock });
  const off: () => void = watcher.on('events', (events: ChorusEvent[]) => events.forEach((e) => e.prompt_time));
  watcher.on('status', (s: WatchStatus) => s.state === 'reconnecting' && s.error?.type);
  for await (const e of watcher) {
    if (e.evtype === 'numeric_prompt_response' && e.data.rating !== undefined) break;
  }
  watcher.add(liked);
  watcher.stop();
  off();
  const end: WatchEnd = await watcher.finished;
  const counts: number = watcher.stats.delivered + watcher.stats.pending;
  // A long watch carries on past its prompt token's expiry with a fresh token.
  const renewed: Watcher = session.watch({ renewToken: async () => (await client.startSession('ip_x')).promptToken });
  renewed.stop();

  const login = await devLogin('http://127.0.0.1:8080', 'Ada');
  const token: string = login.user_jwt;
  const prompts = await devPrompts('http://127.0.0.1:8080');
  const width: number = binning(prompts[0].duration_seconds).width;
  const route: string = EVENT_ROUTES.press_prompt_start_response;
  void [bases, joined, pending, users, tl, next, end, counts, token, width, route, DEFAULT_RETRY.attempts];
}

export function describe(e: unknown): string {
  if (e instanceof InvalidArgumentError) return `bad argument: ${e.message}`;
  if (e instanceof PromptTokenExpiredError) return 'start a new session to keep watching';
  if (e instanceof SessionHasSameEventAtSameTimeError || e instanceof SessionAlreadyEndedError) return e.type;
  if (e instanceof EventRuleError) return `refused by a rule (${e.status})`;
  if (e instanceof TooManyRequestsError) return `slow down for ${e.retryAfter ?? 1} s`;
  if (e instanceof ForbiddenError || e instanceof UnauthorizedError) return 'sign in again';
  if (e instanceof AuthError || e instanceof NotFoundError || e instanceof ServiceUnavailableError) return e.type;
  if (e instanceof ApiError) return `${e.status} ${e.type}`;
  if (e instanceof NetworkError) return 'offline';
  if (e instanceof ChorusError) return e.type;
  return String(e);
}

// The declarations are precise, not `any`: each line below must fail to type-check.
export function mistakes(session: Session, client: Client): void {
  // @ts-expect-error a rating is a number
  session.respond(1, 'three');
  // @ts-expect-error there is no such event type
  session.post('clap', 1, {});
  // @ts-expect-error getUserToken is required
  new Client({ baseUrl: 'http://x' });
  // @ts-expect-error replay is a boolean
  session.watch({ replay: 'yes' });
  // @ts-expect-error startSession takes the prompt's uid
  client.startSession({ uid: 'ip_x' });
  // @ts-expect-error renewToken returns a token, not a session
  session.watch({ renewToken: async () => client.startSession('ip_x') });
  // @ts-expect-error a watcher has no 'message' event
  session.watch().on('message', () => {});
}
