/**
 * The data dir lock (src/server/data-dir.ts): one live server per data dir, and nothing a
 * dead server leaves behind (a pid since reused by an unrelated process) blocks a start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { DataDirInUseError, LOCK_FILE, prepareDataDir } from '../../src/server/data-dir.ts';
import { defer } from '../helpers/cleanup.ts';

/** A fresh temp dir, removed when the test ends. */
async function lockDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-lock-'));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a lock file naming a live but unrelated pid does not block a start', async (t) => {
  const dir = await lockDir(t);
  // pid 1 is always alive; so is this test's own parent (a pid reused after a crash).
  for (const stale of ['1', String(process.ppid), 'pid 1 started 2026-01-01T00:00:00.000Z']) {
    await writeFile(join(dir, LOCK_FILE), `${stale}\n`);
    const lock = await prepareDataDir(dir);
    await lock.release();
  }
});

test('a second server on the same data dir is refused, also through another path to it', async (t) => {
  const dir = await lockDir(t);
  const first = await prepareDataDir(dir);
  try {
    const link = `${dir}-link`;
    await symlink(dir, link);
    try {
      for (const path of [dir, link]) {
        await assert.rejects(prepareDataDir(path), (err: Error) => {
          assert.ok(err instanceof DataDirInUseError);
          assert.match(err.message, new RegExp(`pid ${process.pid}`), 'names the owner from the note');
          assert.match(err.message, /ss -xlp \| grep p2p-broadcast-lock-[0-9a-f]{32}/, 'says how to find the owner');
          return true;
        });
      }
    } finally {
      await rm(link, { force: true });
    }
  } finally {
    await first.release();
  }
  // Released: the next one gets it.
  const again = await prepareDataDir(dir);
  await again.release();
});

test('a server process that is killed leaves no lock behind; while alive it holds it', async (t) => {
  const dir = await lockDir(t);
  const script = `import { prepareDataDir } from ${JSON.stringify(new URL('../../src/server/data-dir.ts', import.meta.url).href)};
    await prepareDataDir(${JSON.stringify(dir)}); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve());
      child.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
    });
    await assert.rejects(prepareDataDir(dir), DataDirInUseError);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  // SIGKILL: no cleanup ran, the note is still there, and the start goes ahead.
  const lock = await prepareDataDir(dir);
  await lock.release();
});
