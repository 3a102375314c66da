/** Download directory, size flags, `~`, and path completion for /send (PROTOCOL.md section 6.7). */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { completePath } from '../../../src/client/files/complete-path.ts';
import { defaultDownloadDir, expandHome, parseByteSize } from '../../../src/client/files/places.ts';
import { tempDir } from '../../helpers/files.ts';

test('download directory: P2P_DOWNLOAD_DIR, else XDG_DOWNLOAD_DIR, else ~/Downloads/p2p-broadcast', () => {
  assert.equal(defaultDownloadDir({ P2P_DOWNLOAD_DIR: '/a', XDG_DOWNLOAD_DIR: '/b' }), '/a');
  assert.equal(defaultDownloadDir({ XDG_DOWNLOAD_DIR: '/b' }), '/b');
  assert.equal(defaultDownloadDir({}), join(homedir(), 'Downloads', 'p2p-broadcast'));
});

test('sizes: binary units, optional B/iB; nonsense is null', () => {
  assert.equal(parseByteSize('4G'), 4 * 1024 ** 3);
  assert.equal(parseByteSize('500MiB'), 500 * 1024 ** 2);
  assert.equal(parseByteSize('1.5k'), 1536);
  assert.equal(parseByteSize('1048576'), 1048576);
  assert.equal(parseByteSize('10 MB'), 10 * 1024 ** 2);
  assert.equal(parseByteSize('-1'), null);
  assert.equal(parseByteSize('lots'), null);
  assert.equal(parseByteSize('1e3'), null);
});

test('expandHome: only a leading ~ or ~/', () => {
  assert.equal(expandHome('~', '/home/u'), '/home/u');
  assert.equal(expandHome('~/x/y', '/home/u'), '/home/u/x/y');
  assert.equal(expandHome('a/~/b', '/home/u'), 'a/~/b');
  assert.equal(expandHome('~other/x', '/home/u'), '~other/x');
});

test('completePath: extends to the common prefix, lists candidates, directories end in /, hidden only on a dot', async (t) => {
  const dir = await tempDir(t, 'complete');
  await writeFile(join(dir, 'report-2024.pdf'), '');
  await writeFile(join(dir, 'report-2025.pdf'), '');
  await writeFile(join(dir, '.secret'), '');
  await mkdir(join(dir, 'photos'));
  const some = await completePath(`${dir}/rep`);
  assert.equal(some.line, `${dir}/report-202`);
  assert.deepEqual(some.candidates, ['report-2024.pdf', 'report-2025.pdf']);
  const one = await completePath(`${dir}/ph`);
  assert.equal(one.line, `${dir}/photos/`);
  const all = await completePath(`${dir}/`);
  assert.deepEqual(all.candidates, ['photos/', 'report-2024.pdf', 'report-2025.pdf']);
  assert.deepEqual((await completePath(`${dir}/.s`)).candidates, ['.secret']);
  const none = await completePath(`${dir}/zzz`);
  assert.deepEqual(none, { line: `${dir}/zzz`, candidates: [] });
  assert.deepEqual(await completePath('/no/such/dir/x'), { line: '/no/such/dir/x', candidates: [] });
  const home = await completePath('~/rep', dir);
  assert.equal(home.line, '~/report-202', 'the ~ the user typed stays');
});
