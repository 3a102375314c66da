/**
 * The encrypted history store on real files in a temp dir: round trip, a wrong password, a
 * torn tail, the size bound, a password change, file modes, and what a thief sees.
 */
import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, stat, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { HistoryError, HistoryErrorCode, parseKeyFile, unwrapKey } from '../../../src/client/history/crypto.ts';
import { HistoryStore, KEY_FILE, type HistoryOptions } from '../../../src/client/history/store.ts';
import { defer } from '../../helpers/cleanup.ts';
import { tempDir } from '../../helpers/server.ts';

const LOG_N = 10;
const PASS = 'correct horse battery';

async function storeDir(t: TestContext): Promise<string> {
  const dir = await tempDir('history');
  defer(t, dir.remove);
  return join(dir.path, 'srv_4400', 'alice');
}

async function openStore(
  t: TestContext,
  dir: string,
  pass = PASS,
  options: HistoryOptions = {},
): Promise<HistoryStore> {
  const store = await HistoryStore.open(dir, pass, { logN: LOG_N, ...options });
  defer(t, () => store.close().catch(() => {}));
  return store;
}

const line = (i: number, own = false) => ({
  at: 1_700_000_000_000 + i,
  from: own ? 'alice' : 'carol',
  text: `message ${i}`,
  own,
});

async function chatFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('chat-'));
}

test('chat lines, broadcasts and input lines come back after closing and opening again', async (t) => {
  const dir = await storeDir(t);
  const first = await openStore(t, dir);
  const carol = await first.chat('carol');
  for (let i = 0; i < 5; i++) await carol.append(line(i, i % 2 === 0));
  await (await first.chat('Dave')).append({ at: 1, from: 'Dave', text: 'hi from dave', own: false });
  await first.saveBroadcast({ id: 'b1', at: 2, from: 'erin', text: 'to everyone' });
  await first.saveInput('/connect carol');
  await first.saveInput('hello');
  await first.close();

  const second = await openStore(t, dir);
  assert.equal(second.movedAside, null);
  const again = await second.chat('CAROL'); // names fold: one log per person
  assert.equal(again.count, 5);
  assert.deepEqual(
    await again.lines(0, 5),
    [0, 1, 2, 3, 4].map((i) => line(i, i % 2 === 0)),
  );
  assert.deepEqual(await again.lines(3, 100), [line(3), line(4, true)]);
  assert.deepEqual(await (await second.chat('dave')).lines(0, 1), [
    { at: 1, from: 'Dave', text: 'hi from dave', own: false },
  ]);
  assert.deepEqual(await second.broadcasts(), [{ id: 'b1', at: 2, from: 'erin', text: 'to everyone' }]);
  assert.deepEqual(await second.inputLines(1), ['hello']);
  assert.deepEqual(await second.inputLines(10), ['/connect carol', 'hello']);
});

test('a wrong password fails clearly, and opening the store with it moves the old history aside', async (t) => {
  const dir = await storeDir(t);
  const first = await openStore(t, dir);
  await (await first.chat('carol')).append(line(1));
  await first.close();

  const keyFile = parseKeyFile(await readFile(join(dir, KEY_FILE), 'utf8'));
  await assert.rejects(unwrapKey(keyFile, 'another password'), (err: unknown) => {
    assert.ok(err instanceof HistoryError);
    assert.equal(err.code, HistoryErrorCode.LOCKED);
    return true;
  });

  const fresh = await openStore(t, dir, 'another password');
  assert.ok(fresh.movedAside, 'the old history was moved aside');
  assert.equal((await fresh.chat('carol')).count, 0, 'the new history starts empty');
  // The old files are still there, untouched, for the old password.
  const old = await openStore(t, fresh.movedAside);
  assert.deepEqual(await (await old.chat('carol')).lines(0, 1), [line(1)]);
});

test('a damaged key file is moved aside too, never a crash', async (t) => {
  const dir = await storeDir(t);
  await (await openStore(t, dir)).close();
  await writeFile(join(dir, KEY_FILE), '{"v":1,"kdf":{"name":"scrypt","logN":40}}');
  const store = await openStore(t, dir);
  assert.ok(store.movedAside);
});

test('a torn last record is cut off on open; the records before it and later appends read back', async (t) => {
  const dir = await storeDir(t);
  const first = await openStore(t, dir);
  const carol = await first.chat('carol');
  for (let i = 0; i < 3; i++) await carol.append(line(i));
  await first.close();
  const [file] = await chatFiles(dir);
  assert.ok(file);
  const path = join(dir, file);
  const whole = (await stat(path)).size;

  // Half a record: its length says 200 bytes, 50 follow.
  const torn = Buffer.alloc(54);
  torn.writeUInt32BE(200, 0);
  await appendFile(path, torn);
  const second = await openStore(t, dir);
  const again = await second.chat('carol');
  assert.equal(again.count, 3);
  assert.equal((await stat(path)).size, whole, 'the torn tail was truncated');
  await again.append(line(3));
  await second.close();

  // A whole-length tail that does not verify (zeros, as a crash can leave).
  const zeros = Buffer.alloc(4 + 40);
  zeros.writeUInt32BE(40, 0);
  await appendFile(path, zeros);
  const third = await openStore(t, dir);
  const last = await third.chat('carol');
  assert.deepEqual(await last.lines(0, 10), [line(0), line(1), line(2), line(3)]);
});

test('a log over its bound is rewritten keeping the newest lines, and stays readable', async (t) => {
  const dir = await storeDir(t);
  const limits = { maxBytes: 4096, keepBytes: 2048 };
  const store = await openStore(t, dir, PASS, { chatLimits: limits });
  const carol = await store.chat('carol');
  for (let i = 0; i < 200; i++) await carol.append(line(i));
  const [file] = await chatFiles(dir);
  assert.ok(file);
  assert.ok((await stat(join(dir, file))).size <= limits.maxBytes);
  const kept = await carol.lines(0, carol.count);
  assert.ok(kept.length > 10 && kept.length < 200, `kept ${kept.length}`);
  assert.deepEqual(kept.at(-1), line(199), 'the newest line is kept');
  assert.deepEqual(
    kept.map((l) => l.text),
    Array.from({ length: kept.length }, (_, i) => `message ${200 - kept.length + i}`),
    'the oldest were dropped, the rest in order',
  );
  assert.equal((await readdir(dir)).filter((n) => n.endsWith('.tmp')).length, 0);
  await store.close();
  const reopened = await openStore(t, dir, PASS, { chatLimits: limits });
  assert.deepEqual(await (await reopened.chat('carol')).lines(0, 1000), kept);
});

test('a password change re-wraps the key only: the records read with the new password, not the old', async (t) => {
  const dir = await storeDir(t);
  const store = await openStore(t, dir);
  await (await store.chat('carol')).append(line(1));
  const [file] = await chatFiles(dir);
  assert.ok(file);
  const before = await readFile(join(dir, file));
  await store.changePassword('a new password');
  await (await store.chat('carol')).append(line(2));
  await store.close();
  const after = await readFile(join(dir, file));
  assert.deepEqual(after.subarray(0, before.length), before, 'the records were not re-encrypted');

  const reopened = await openStore(t, dir, 'a new password');
  assert.equal(reopened.movedAside, null);
  assert.deepEqual(await (await reopened.chat('carol')).lines(0, 10), [line(1), line(2)]);
  await reopened.close();
  const keyFile = parseKeyFile(await readFile(join(dir, KEY_FILE), 'utf8'));
  await assert.rejects(unwrapKey(keyFile, PASS), HistoryError);
});

test('files are 0600 and the directory 0700', async (t) => {
  const dir = await storeDir(t);
  const store = await openStore(t, dir);
  await (await store.chat('carol')).append(line(1));
  await store.saveInput('x');
  await store.changePassword('another one');
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  const names = await readdir(dir);
  assert.ok(names.length >= 4, names.join(' '));
  for (const name of names) assert.equal((await stat(join(dir, name))).mode & 0o777, 0o600, name);
});

test('a stolen directory shows no message text and no peer name', async (t) => {
  const dir = await storeDir(t);
  const store = await openStore(t, dir);
  const secret = 'the launch code is 0000';
  await (await store.chat('carol')).append({ at: 1, from: 'carol', text: secret, own: false });
  await store.saveBroadcast({ id: 'b', at: 1, from: 'carol', text: secret });
  await store.saveInput(secret);
  await store.close();
  const names = await readdir(dir);
  assert.ok(!names.some((n) => n.includes('carol')), names.join(' '));
  for (const name of names) {
    const bytes = await readFile(join(dir, name));
    assert.equal(bytes.indexOf(secret), -1, `${name} holds the plaintext`);
    assert.equal(bytes.indexOf('carol'), -1, `${name} holds the peer's name`);
    assert.equal(bytes.indexOf('launch'), -1);
  }
});

test('records copied into another file do not read there', async (t) => {
  const dir = await storeDir(t);
  const store = await openStore(t, dir);
  await (await store.chat('carol')).append(line(1));
  await (await store.chat('carol')).append(line(2));
  await (await store.chat('dave')).append(line(3));
  await store.close();
  const files = await chatFiles(dir);
  const carolStore = await openStore(t, dir);
  const carolLog = await carolStore.chat('carol');
  await carolStore.close();
  // Find which file is carol's by its size (two records against one), then put it in dave's place.
  const sizes = await Promise.all(files.map(async (f) => ({ f, size: (await stat(join(dir, f))).size })));
  sizes.sort((a, b) => b.size - a.size);
  const [carolFile, daveFile] = sizes.map((s) => s.f);
  assert.ok(carolFile && daveFile && carolLog.count === 2);
  await copyFile(join(dir, carolFile), join(dir, daveFile));
  const later = await openStore(t, dir);
  assert.deepEqual(await (await later.chat('dave')).lines(0, 10), []);
});
