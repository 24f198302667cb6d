// The hand-written declarations: they type-check the example app and a
// TypeScript file making every call (tsc --noEmit, strict), and they
// declare exactly what the modules export.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as runtime from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');

test('tsc --noEmit type-checks the example app and every call against the declarations', async () => {
  const tsc = join(pkg, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', pkg]).catch((e) => e);
  assert.equal(result.code ?? 0, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
});

test('the declarations name every export of the modules, and nothing else', () => {
  const dts = ['index.d.ts', 'admin.d.ts'].map((f) => readFileSync(join(pkg, 'src', f), 'utf8')).join('\n');
  const declared = [...dts.matchAll(/^export declare (?:class|function|const) (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(runtime).sort());
});
