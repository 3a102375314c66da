/**
 * The broadcast store contract (every backend passes it) and what the JSON-lines file does
 * after a crash (PROTOCOL.md section 7.3).
 */
import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { JsonlBroadcastStore } from '../../src/server/broadcasts/jsonl-store.ts';
import {
  BroadcastStoreError,
  MemoryBroadcastStore,
  type BroadcastStore,
  type QueueRecord,
} from '../../src/server/broadcasts/store.ts';
import { tempDir } from '../helpers/server.ts';

const item = (bid: string, text = `text ${bid}`) => ({ bid, from: 'alice', text, createdAt: 1_000, expiresAt: 2_000 });
const add = (bid: string): QueueRecord => ({ op: 'add', b: item(bid) });
const ack = (bid: string, ...users: string[]): QueueRecord => ({ op: 'ack', bid, users });

interface Backend {
  name: string;
  /** A fresh store, and a way to get another instance over the same data (a restart). */
  make(): Promise<{ store: BroadcastStore; reopen: () => BroadcastStore; cleanup: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'memory',
    make() {
      const store = new MemoryBroadcastStore();
      return Promise.resolve({ store, reopen: () => store, cleanup: () => Promise.resolve() });
    },
  },
  {
    name: 'jsonl',
    async make() {
      const dir = await tempDir('bstore');
      const path = join(dir.path, 'broadcasts.jsonl');
      return { store: new JsonlBroadcastStore(path), reopen: () => new JsonlBroadcastStore(path), cleanup: dir.remove };
    },
  },
];

for (const backend of backends) {
  describe(`broadcast store contract: ${backend.name}`, () => {
    test('starts empty', async () => {
      const { store, cleanup } = await backend.make();
      assert.deepEqual(await store.load(), { records: [], tornRecords: 0 });
      await store.close();
      await cleanup();
    });

    test('appends survive a restart, in order, texts intact', async () => {
      const { store, reopen, cleanup } = await backend.make();
      await store.load();
      const odd = 'line one\nline "two"\u0000 \u001b[31m ünï 😀';
      await store.append([add('a1'), { op: 'add', b: item('b2', odd) }]);
      await store.append([ack('a1', 'bob', 'carol')]);
      await store.close();
      const again = reopen();
      const { records } = await again.load();
      assert.deepEqual(records, [add('a1'), { op: 'add', b: item('b2', odd) }, ack('a1', 'bob', 'carol')]);
      await again.close();
      await cleanup();
    });

    test('rewrite replaces everything; later appends follow it', async () => {
      const { store, reopen, cleanup } = await backend.make();
      await store.load();
      await store.append([add('a1'), add('b2'), ack('a1', 'bob')]);
      await store.rewrite([add('b2')]);
      await store.append([ack('b2', 'dave')]);
      await store.close();
      const again = reopen();
      assert.deepEqual((await again.load()).records, [add('b2'), ack('b2', 'dave')]);
      await again.close();
      await cleanup();
    });
  });
}

describe('broadcast log file after a crash', () => {
  async function fileWith(content: string) {
    const dir = await tempDir('bstore');
    const path = join(dir.path, 'broadcasts.jsonl');
    await writeFile(path, content);
    return { path, dir };
  }
  const line = (r: QueueRecord) => `${JSON.stringify(r)}\n`;

  test('a torn last line (no newline) is ignored and cut off before the next append', async () => {
    const whole = line(add('a1')) + line(ack('a1', 'bob'));
    const { path, dir } = await fileWith(`${whole}{"op":"ack","bid":"a1","us`);
    const store = new JsonlBroadcastStore(path);
    assert.deepEqual(await store.load(), { records: [add('a1'), ack('a1', 'bob')], tornRecords: 1 });
    assert.equal(await readFile(path, 'utf8'), whole);
    await store.append([ack('a1', 'carol')]);
    await store.close();
    assert.equal(await readFile(path, 'utf8'), whole + line(ack('a1', 'carol')));
    await dir.remove();
  });

  test('a last line that parses but lacks its newline is torn too: its write never finished', async () => {
    const { path, dir } = await fileWith(line(add('a1')) + JSON.stringify(add('b2')));
    const store = new JsonlBroadcastStore(path);
    assert.deepEqual(await store.load(), { records: [add('a1')], tornRecords: 1 });
    await store.close();
    await dir.remove();
  });

  test('garbage at the end (zeros after a power cut) is ignored', async () => {
    const { path, dir } = await fileWith(`${line(add('a1'))}\u0000\u0000\u0000\n\u0000\u0000`);
    const store = new JsonlBroadcastStore(path);
    assert.deepEqual(await store.load(), { records: [add('a1')], tornRecords: 2 });
    await store.close();
    await dir.remove();
  });

  test('damage in the middle stops the load, naming the file and line', async () => {
    const { path, dir } = await fileWith(line(add('a1')) + 'not json\n' + line(add('b2')));
    const err = await new JsonlBroadcastStore(path).load().then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof BroadcastStoreError);
    assert.equal(err.line, 2);
    assert.match(err.message, /broadcasts\.jsonl, line 2: not a JSON record/);
    await dir.remove();
  });

  test('a record of the wrong shape is damage too', async () => {
    const bad = JSON.stringify({ op: 'add', b: { ...item('a1'), from: 'not a name!' } });
    const { path, dir } = await fileWith(`${bad}\n${line(add('b2'))}`);
    await assert.rejects(
      new JsonlBroadcastStore(path).load(),
      (e: unknown) => e instanceof BroadcastStoreError && e.line === 1,
    );
    await dir.remove();
  });

  test('temp files of an interrupted rewrite are removed at load', async () => {
    const { path, dir } = await fileWith(line(add('a1')));
    await appendFile(join(dir.path, `.broadcasts.jsonl.999.1.tmp`), 'half a snapshot');
    const store = new JsonlBroadcastStore(path);
    assert.equal((await store.load()).records.length, 1);
    assert.deepEqual(await readdir(dir.path), ['broadcasts.jsonl']);
    await store.close();
    await dir.remove();
  });
});
