#!/usr/bin/env node
// Runs every bench/*.ts in turn (or, for each argument, the bench of exactly that name, else
// those whose name contains it): each prints its own table beside a baseline measured in the
// same run. So `cluster` runs bench/cluster.ts alone, not also accounts-cluster.ts.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// Names first, then flags: `soak --minutes 3` and `soak --minutes=3` both pass the value on.
const argv = process.argv.slice(2);
const firstFlag = argv.findIndex((a) => a.startsWith('-'));
const only = firstFlag < 0 ? argv : argv.slice(0, firstFlag);
const passThrough = firstFlag < 0 ? [] : argv.slice(firstFlag);
const all = readdirSync(join(root, 'bench')).filter((name) => name.endsWith('.ts'));
const matching = (o) => (all.includes(`${o}.ts`) ? [`${o}.ts`] : all.filter((name) => name.includes(o)));
const scripts = (only.length === 0 ? all : [...new Set(only.flatMap(matching))]).sort();
if (scripts.length === 0) {
  console.error('run-bench: no benchmark matched');
  process.exit(1);
}
let failed = 0;
for (const name of scripts) {
  console.log(`\n=== bench/${name} ===`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join('bench', name), ...passThrough], {
    cwd: root,
    stdio: 'inherit',
    // bin/ runs src/ through tsx: the benchmark measures the working tree, not a stale dist/.
    env: { ...process.env, P2P_FROM_SOURCE: '1' },
  });
  if (result.status !== 0) failed += 1;
}
process.exit(failed ? 1 : 0);
