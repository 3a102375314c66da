/**
 * A small real tmpfs for full-disk tests. Mounting needs root (.ci/run runs as root, as the NAT
 * suite needs too); elsewhere those tests are skipped with this reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { defer } from './cleanup.ts';

/** For `test(name, { skip: TMPFS_SKIP }, ...)`: false as root, else why the test cannot run. */
export const TMPFS_SKIP: false | string = process.getuid?.() === 0 ? false : 'needs root to mount a tmpfs';

/** A tmpfs of `size` (mount's syntax: '1m', '256k' or bytes) mounted for this test, unmounted and removed after it. */
export async function mountTmpfs(t: TestContext, size: string | number): Promise<string> {
  const mount = await mkdtemp(join(tmpdir(), 'p2p-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', mount]);
  defer(t, async () => {
    execFileSync('umount', [mount]);
    await rmdir(mount);
  });
  return mount;
}
