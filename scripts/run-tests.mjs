#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's test runner. Node 20 does not expand globs itself
// (and `node --test test/` silently finds no .ts files), so we list the files here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// `--nat` runs only test/nat/ (network namespaces: root, ip, nft; `npm run test:nat`);
// without it test/nat/ is left out, so `npm test` runs anywhere.
const nat = process.argv.includes('--nat');
const only = process.argv.slice(2).filter((a) => a !== '--nat');

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : find(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

let files = find(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => f.startsWith(join('test', 'nat') + '/') === nat)
  .sort();
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, P2P_TEST: '1', P2P_FROM_SOURCE: '1' } },
);
process.exit(result.status ?? 1);
