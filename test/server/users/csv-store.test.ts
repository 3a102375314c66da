/**
 * users.csv (PROTOCOL.md section 4.2): the contract suite, plus what only a file has: the
 * header row, atomic replacement, and clear errors naming the line of a damaged file.
 */
import assert from 'node:assert/strict';
import { open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { parse } from 'csv-parse/sync';
import { ErrorCode, ProtocolError } from '../../../src/net/errors.ts';
import { CsvUserStore, parseUsersCsv, UserStoreError } from '../../../src/server/users/csv-store.ts';
import { tempDir } from '../../helpers/server.ts';
import { defer } from '../../helpers/cleanup.ts';
import {
  OTHER_HASH,
  persistentUserStoreContract,
  SAMPLE_HASH,
  userStoreContract,
  type PersistentStoreFixture,
} from './store-contract.ts';

const HEADER = 'username,password_hash,created_at,last_seen_at';
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

async function csvFixture(): Promise<PersistentStoreFixture> {
  const dir = await tempDir('csv');
  const path = join(dir.path, 'users.csv');
  let current = new CsvUserStore(path, 10);
  await current.open();
  return {
    store: current,
    async reopen() {
      await current.close();
      current = new CsvUserStore(path, 10);
      await current.open();
      return current;
    },
    async cleanup() {
      await current.close();
      await dir.remove();
    },
  };
}

userStoreContract('CsvUserStore', csvFixture);
persistentUserStoreContract('CsvUserStore', csvFixture);

/** A temp dir and the users.csv path in it, removed when the test ends. */
async function csvDir(t: TestContext): Promise<{ dir: string; path: string }> {
  const dir = await tempDir('csv');
  defer(t, () => dir.remove());
  return { dir: dir.path, path: join(dir.path, 'users.csv') };
}

describe('CsvUserStore file format', () => {
  test('a new store writes a file with just the header row', async (t) => {
    const { path } = await csvDir(t);
    const store = new CsvUserStore(path);
    await store.open();
    assert.equal(await readFile(path, 'utf8'), `${HEADER}\n`);
    await store.close();
  });

  test('records are written one a row, ISO times, and read back the same', async (t) => {
    const { path } = await csvDir(t);
    const store = new CsvUserStore(path, 10);
    await store.open();
    await store.create({ username: 'Alice', passwordHash: SAMPLE_HASH, createdAt: T0 });
    await store.create({ username: 'bob_2', passwordHash: SAMPLE_HASH, createdAt: T0 + 1 });
    store.touch('alice', T0 + 60_000);
    await store.close();
    const text = await readFile(path, 'utf8');
    assert.deepEqual(text.trimEnd().split('\n'), [
      HEADER,
      `Alice,${SAMPLE_HASH},2026-01-02T03:04:05.678Z,2026-01-02T03:05:05.678Z`,
      `bob_2,${SAMPLE_HASH},2026-01-02T03:04:05.679Z,`,
    ]);
    assert.deepEqual(parseUsersCsv(text, path), [
      { username: 'Alice', passwordHash: SAMPLE_HASH, createdAt: T0, lastSeenAt: T0 + 60_000 },
      { username: 'bob_2', passwordHash: SAMPLE_HASH, createdAt: T0 + 1, lastSeenAt: null },
    ]);
  });

  test('a file saved by a spreadsheet (BOM, CRLF, blank lines, no last_seen_at column) loads', async (t) => {
    const { path } = await csvDir(t);
    await writeFile(
      path,
      `\ufeffusername,password_hash,created_at\r\n\r\ncarol,${SAMPLE_HASH},2026-01-02T03:04:05Z\r\n`,
    );
    const store = new CsvUserStore(path);
    await store.open();
    assert.deepEqual(store.get('CAROL'), {
      username: 'carol',
      passwordHash: SAMPLE_HASH,
      createdAt: Date.UTC(2026, 0, 2, 3, 4, 5),
      lastSeenAt: null,
    });
    await store.close();
  });

  test('concurrent creates of one name leave one row in the file', async (t) => {
    const { path } = await csvDir(t);
    const store = new CsvUserStore(path);
    await store.open();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.create({ username: i % 2 ? 'Zed' : 'zed', passwordHash: SAMPLE_HASH, createdAt: T0 }),
      ),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    await store.close();
    const rows = parse(await readFile(path, 'utf8'));
    assert.equal(rows.length, 2);
    assert.equal(rows[1]?.[0]?.toLowerCase(), 'zed');
  });
});

describe('CsvUserStore atomic writes', () => {
  test('every write replaces the file by rename (an old reader keeps the old file whole) and leaves no temp file', async (t) => {
    const { dir, path } = await csvDir(t);
    const store = new CsvUserStore(path);
    await store.open();
    for (const name of ['a1', 'a2', 'a3']) {
      const before = await readFile(path, 'utf8');
      const reader = await open(path, 'r'); // holding it open also stops its inode being reused
      try {
        await store.create({ username: name, passwordHash: SAMPLE_HASH, createdAt: T0 });
        assert.notEqual((await reader.stat()).ino, (await stat(path)).ino, 'a new file, not rewritten in place');
        assert.equal(await reader.readFile('utf8'), before, 'the old file is untouched');
      } finally {
        await reader.close();
      }
    }
    assert.deepEqual(await readdir(dir), ['users.csv']);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await store.close();
  });

  test('a reader during a registration storm always sees a whole file', async (t) => {
    const { path } = await csvDir(t);
    const store = new CsvUserStore(path);
    await store.open();
    let done = false;
    const storm = Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        store.create({ username: `storm${i}`, passwordHash: SAMPLE_HASH, createdAt: T0 + i }),
      ),
    ).finally(() => {
      done = true;
    });
    let reads = 0;
    let lastCount = 0;
    while (!done) {
      const text = await readFile(path, 'utf8');
      const records = parseUsersCsv(text, path); // throws on a torn file
      assert.ok(records.length >= lastCount, 'the file never goes back');
      lastCount = records.length;
      reads += 1;
    }
    await storm;
    assert.ok(reads > 0);
    assert.equal(parseUsersCsv(await readFile(path, 'utf8'), path).length, 200);
    await store.close();
  });

  test('a write replaces the file, never changes it in place: a reader holding the old one reads it whole', async (t) => {
    const { path } = await csvDir(t);
    // The deterministic guard behind the storm test above: with atomic replacement the old
    // file (inode) is never touched, so a descriptor opened before a write still reads the
    // old content in full; an in-place write would truncate or change it under the reader.
    const store = new CsvUserStore(path);
    await store.open();
    await store.create({ username: 'first', passwordHash: SAMPLE_HASH, createdAt: T0 });
    const before = await readFile(path, 'utf8');
    const held = await open(path, 'r');
    try {
      for (let i = 0; i < 3; i++)
        await store.create({ username: `later${i}`, passwordHash: SAMPLE_HASH, createdAt: T0 + i });
      assert.equal(await held.readFile('utf8'), before, 'the old file is untouched');
      assert.notEqual((await stat(path)).ino, (await held.stat()).ino, 'users.csv is a new file');
      assert.equal(parseUsersCsv(await readFile(path, 'utf8'), path).length, 4);
    } finally {
      await held.close();
      await store.close();
    }
  });

  test('a reader during a storm of password changes and removals always sees a whole file', async (t) => {
    const { path } = await csvDir(t);
    const store = new CsvUserStore(path);
    await store.open();
    const N = 120;
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        store.create({ username: `acct${i}`, passwordHash: SAMPLE_HASH, createdAt: T0 + i }),
      ),
    );
    let done = false;
    // Even users get a new password, odd ones are removed, all at once.
    const storm = Promise.all(
      Array.from({ length: N }, (_, i) =>
        i % 2 === 0 ? store.setPasswordHash(`acct${i}`, OTHER_HASH) : store.remove(`ACCT${i}`),
      ),
    ).finally(() => {
      done = true;
    });
    let reads = 0;
    let lastCount = N;
    while (!done) {
      const records = parseUsersCsv(await readFile(path, 'utf8'), path); // throws on a torn file
      assert.ok(records.length <= lastCount, 'a removed user never comes back');
      for (const r of records) assert.ok(r.passwordHash === SAMPLE_HASH || r.passwordHash === OTHER_HASH);
      lastCount = records.length;
      reads += 1;
    }
    assert.deepEqual(await storm, Array(N).fill(true));
    const final = parseUsersCsv(await readFile(path, 'utf8'), path);
    assert.equal(final.length, N / 2);
    for (const r of final) assert.equal(r.passwordHash, OTHER_HASH, r.username);
    assert.ok(reads > 0);
    await store.close();
  });

  test('a failed write of a password change or removal rejects with E_STORAGE and changes nothing', async (t) => {
    const { dir, path } = await csvDir(t);
    const store = new CsvUserStore(path);
    await store.open();
    await store.create({ username: 'quinn', passwordHash: SAMPLE_HASH, createdAt: T0 });
    await rm(dir, { recursive: true, force: true }); // the disk "goes away"
    const isStorage = (err: unknown) => err instanceof ProtocolError && err.code === ErrorCode.STORAGE;
    await assert.rejects(store.setPasswordHash('quinn', OTHER_HASH), isStorage);
    assert.equal(store.get('quinn')?.passwordHash, SAMPLE_HASH, 'the old password still works');
    await assert.rejects(store.remove('quinn'), isStorage);
    assert.equal(store.get('quinn')?.username, 'quinn', 'the user is back');
    assert.equal(store.size, 1);
    await store.close();
  });

  test('temp files a crashed writer left are removed at open and never read', async (t) => {
    const { dir, path } = await csvDir(t);
    await writeFile(path, `${HEADER}\nkept,${SAMPLE_HASH},2026-01-02T03:04:05.678Z,\n`);
    await writeFile(join(dir, '.users.csv.999.1.tmp'), `${HEADER}\nkept,${SAMPLE_HASH},2026-01-0`); // torn
    await writeFile(join(dir, 'unrelated.tmp'), 'x');
    const store = new CsvUserStore(path);
    await store.open();
    assert.deepEqual(
      store.list().map((u) => u.username),
      ['kept'],
    );
    assert.deepEqual((await readdir(dir)).sort(), ['unrelated.tmp', 'users.csv']);
    await store.close();
  });

  test('a failed write rejects with E_STORAGE and frees the name', async (t) => {
    const { dir, path } = await csvDir(t);
    const store = new CsvUserStore(path);
    await store.open();
    await rm(dir, { recursive: true, force: true }); // the disk "goes away"
    await assert.rejects(
      store.create({ username: 'ghost', passwordHash: SAMPLE_HASH, createdAt: T0 }),
      (err: unknown) => err instanceof ProtocolError && err.code === ErrorCode.STORAGE,
    );
    assert.equal(store.has('ghost'), false);
    assert.equal(store.size, 0);
    await store.close();
  });

  test('a closed store refuses new users', async (t) => {
    const { path } = await csvDir(t);
    const store = new CsvUserStore(path);
    await store.open();
    await store.close();
    await assert.rejects(
      store.create({ username: 'late', passwordHash: SAMPLE_HASH, createdAt: T0 }),
      (err: unknown) => err instanceof ProtocolError && err.code === ErrorCode.STORAGE,
    );
  });
});

describe('CsvUserStore refuses a damaged file, naming the line', () => {
  const row = (name: string, hash = SAMPLE_HASH, created = '2026-01-02T03:04:05.678Z', seen = '') =>
    `${name},${hash},${created},${seen}`;
  const cases: Array<[name: string, text: string, line: number, detail: RegExp]> = [
    ['a bad password hash', [HEADER, row('ann'), row('ben', 'not-a-hash')].join('\n'), 3, /password_hash of "ben"/],
    [
      'a hash of the wrong length',
      [HEADER, row('ann', Buffer.from('scrypt-short').toString('base64'))].join('\n'),
      2,
      /password_hash/,
    ],
    [
      'the same name twice in different case',
      [HEADER, row('ann'), row('ben'), row('Ann')].join('\n'),
      4,
      /"Ann" already appears on line 2/,
    ],
    [
      'a bad created_at date',
      [HEADER, row('ann'), row('ben', SAMPLE_HASH, 'yesterday')].join('\n'),
      3,
      /created_at of "ben" is not a date/,
    ],
    [
      'a bad last_seen_at date',
      [HEADER, row('ann', SAMPLE_HASH, '2026-01-02T03:04:05Z', 'soon')].join('\n'),
      2,
      /last_seen_at/,
    ],
    [
      'a header without the hash column',
      ['username,created_at', 'ann,2026-01-02T03:04:05Z'].join('\n'),
      1,
      /no "password_hash" column/,
    ],
    [
      'a row with a missing column',
      [HEADER, row('ann'), `ben,${SAMPLE_HASH},2026-01-02T03:04:05Z`].join('\n'),
      3,
      /not valid CSV/,
    ],
    [
      'an unterminated quote',
      [HEADER, row('ann'), `"ben,${SAMPLE_HASH},2026-01-02T03:04:05Z,`].join('\n'),
      3,
      /not valid CSV/,
    ],
    ['an invalid username', [HEADER, row('ann'), row('bad name')].join('\n'), 3, /invalid username "bad name"/],
    ['a formula in place of a name', [HEADER, row('=cmd|calc')].join('\n'), 2, /invalid username/],
    [
      'blank lines before the bad row still count',
      [HEADER, row('ann'), '', '', row('ben', 'zzz')].join('\n'),
      5,
      /password_hash of "ben"/,
    ],
  ];

  for (const [name, text, line, detail] of cases) {
    test(name, async (t) => {
      const { path } = await csvDir(t);
      await writeFile(path, `${text}\n`);
      const before = await readFile(path);
      const store = new CsvUserStore(path);
      await assert.rejects(store.open(), (err: unknown) => {
        assert.ok(err instanceof UserStoreError, String(err));
        assert.equal(err.line, line, err.message);
        assert.ok(err.message.startsWith(`${path}, line ${line}: `), err.message);
        assert.match(err.message, detail);
        return true;
      });
      assert.deepEqual(await readFile(path), before, 'a damaged file is never rewritten');
    });
  }
});
