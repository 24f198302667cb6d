// Chorus's JavaScript client: sessions, events posted in order, stats and
// timeline, and the live stream (see README.md).

export { Client } from './client.js';
export { Session, EVENT_ROUTES } from './session.js';
export { Watcher } from './watch.js';
export { startClock, binning } from './clock.js';
export { devLogin, devPrompts } from './dev.js';
export { DEFAULT_RETRY } from './retry.js';
export * from './errors.js';
export { AdminClient, PromptReader, PromptInvalidError } from './admin.js';
export { checkPrompt, checkNamedPrompt, fieldOf, trimText, PROMPT_LIMITS, IDENTIFIER, MIN_EXPIRES_SECONDS } from './prompts.js';
