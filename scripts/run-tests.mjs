#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's test runner. Node 20 does not expand globs itself
// (and `node --test test/` silently finds no .ts files), so we list the files here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// Slow end-to-end suites have their own folder and flag, and `npm test` leaves them out:
// `--nat` runs only test/nat/ (network namespaces: root, ip, nft; `npm run test:nat`),
// `--cluster` only test/cluster/ (server processes on a real redis-server; `npm run test:cluster`).
const SUITES = ['nat', 'cluster'];
const suite = SUITES.find((name) => process.argv.includes(`--${name}`)) ?? null;
const only = process.argv.slice(2).filter((a) => !SUITES.some((name) => a === `--${name}`));
const suiteOf = (file) => SUITES.find((name) => file.startsWith(join('test', name) + '/')) ?? null;

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : find(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

let files = find(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => suiteOf(f) === suite)
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
