// Type-checked only (`tsc --noEmit`), never run: every call of the admin
// side of the package as a TypeScript app would make it.

import {
  AdminClient, PromptReader, PromptInvalidError, checkPrompt, checkNamedPrompt, fieldOf, trimText, PROMPT_LIMITS,
  IDENTIFIER, MIN_EXPIRES_SECONDS, type NamedPrompt, type PromptRecord, type PromptProblem, type Stats, type Timeline,
  type SearchItem, type Watcher,
} from '../../src/index.js';

export async function everyAdminCall(): Promise<void> {
  const admin = new AdminClient({ baseUrl: 'https://chorus.example', adminToken: 'secret', retry: { attempts: 3 } });
  const created: PromptRecord = await admin.createPrompt({
    prompt: { style: 'word', text: 'Pick a word', options: ['calm', 'joyful'] }, duration_seconds: 30,
  });
  const read: PromptRecord = await admin.getPrompt(created.uid);
  const deleted: PromptRecord = await admin.deletePrompt(read.uid);
  const token: string = (await admin.promptToken(created.uid)).jwt;
  const reader: PromptReader = await admin.openPrompt(created.uid);
  const now: Stats = await reader.stats(reader.bins.binOf(1));
  const tl: Timeline = await reader.timeline();
  const joins: SearchItem[] = await reader.searchAll({ evtype: { operator: 'eq', value: 'join' } });
  const taking: number = await reader.takingNow();
  const watcher: Watcher = reader.watch({ bandwidth: 100, clock: () => 3 });
  watcher.stop();
  const defined: NamedPrompt = await admin.putNamedPrompt('onboarding-mood', {
    prompt: { style: 'press', text: 'Hold' }, duration_seconds: 10, expires_seconds: 3600,
  });
  const current: string | null = (await admin.getNamedPrompt(defined.identifier)).current_uid;
  const all: NamedPrompt[] = (await admin.listNamedPrompts()).items;
  const gone: number = (await admin.deleteNamedPrompt('onboarding-mood')).version;
  const namedProblems: PromptProblem[] = checkNamedPrompt('Bad', { expires_seconds: MIN_EXPIRES_SECONDS });
  void [current, all, gone, namedProblems, IDENTIFIER.test('x')];
  const problems: PromptProblem[] = checkPrompt({ prompt: { style: 'press', text: '' }, duration_seconds: 0 });
  const at: PromptProblem | null = fieldOf('prompt.text: must be 1 to 75 characters after trimming, got 0');
  try {
    await admin.createPrompt({ prompt: { style: 'press', text: ' ' }, duration_seconds: 10 });
  } catch (e) {
    if (e instanceof PromptInvalidError) e.problems.forEach((p) => p.field.length);
  }
  void [deleted, token, now, tl, joins, taking, problems, at, trimText(' x '), PROMPT_LIMITS.textChars, reader.deletedAt];
}
