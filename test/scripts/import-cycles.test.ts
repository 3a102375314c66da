/**
 * scripts/import-cycles.mjs: it finds cycles (type-only imports and re-exports included) in
 * a tree made for the test, and src/ has none (issue 10: nothing imports its way back into
 * server.ts). Runs the script as a process, as anyone would.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../helpers/server.ts';

const script = new URL('../../scripts/import-cycles.mjs', import.meta.url).pathname;

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  return { status: result.status, out: result.stdout, err: result.stderr };
}

describe('import-cycles', () => {
  test('src/ has no import cycle, so none through server.ts', () => {
    const { status, out } = run('--strict', '--forbid', 'src/server/server.ts');
    assert.equal(status, 0, out);
    assert.match(out, /import cycles under src: 0 /);
  });

  test('finds a cycle of type imports and re-exports, names its files, and fails --strict and --forbid', async (t) => {
    const dir = await tempDir('cycles');
    t.after(() => dir.remove());
    await mkdir(join(dir.path, 'feature'));
    const files: Record<string, string> = {
      'hub.ts': "import { feature } from './feature/index.ts';\nexport const hub = feature;\n",
      'feature/index.ts': "export { feature } from './impl.ts';\n",
      'feature/impl.ts': "import type { Hub } from '../types.ts';\nexport const feature = 1;\n",
      'types.ts':
        "// import { nothing } from './hub.ts'; (a comment is not an import)\nimport type { hub } from './hub.ts';\nexport type Hub = typeof hub;\n",
      'leaf.ts': "import { hub } from './hub.ts';\nexport const leaf = hub;\n",
      'self.ts': 'export const self = 1;\n',
    };
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir.path, name), text);

    const report = run('--root', dir.path);
    assert.equal(report.status, 0, 'without --strict or --forbid it only reports');
    assert.match(report.out, /: 1 \(4 files in them\)/);
    for (const name of ['hub.ts', 'feature/index.ts', 'feature/impl.ts', 'types.ts'])
      assert.ok(report.out.includes(name), name);
    assert.ok(!report.out.includes('leaf.ts'), 'a file that only imports into the cycle is not in it');

    assert.equal(run('--root', dir.path, '--strict').status, 1);
    const forbidHub = run('--root', dir.path, '--forbid', join(dir.path, 'hub.ts'));
    assert.equal(forbidHub.status, 1);
    assert.match(forbidHub.out, /hub\.ts: IN A CYCLE/);
    const forbidLeaf = run('--root', dir.path, '--forbid', join(dir.path, 'leaf.ts'));
    assert.equal(forbidLeaf.status, 0);
    assert.match(forbidLeaf.out, /leaf\.ts: in no cycle/);
  });
});
