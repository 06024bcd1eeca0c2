// The committed declarations must compile under `tsc --strict`, on their own
// and as used by test/ts/usage.ts (a backend's ordinary calls). The drift test
// (types.test.mjs) checks they match the runtime; this checks they are valid
// TypeScript that a user's compiler accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');

function compile(files) {
  const args = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', ...files];
  try {
    execFileSync(process.execPath, [tsc, ...args], { cwd: pkg, encoding: 'utf8', stdio: 'pipe' });
    return '';
  } catch (e) {
    return `${e.stdout}${e.stderr}`;
  }
}

test('index.d.ts and a usage file compile with tsc --strict', () => {
  assert.equal(compile(['index.d.ts', 'test/ts/usage.ts']), '');
});

test('tsc rejects a use the declarations forbid (the check has teeth)', () => {
  const out = compile(['index.d.ts', 'test/ts/misuse.ts']);
  assert.match(out, /next_wake/);
});
