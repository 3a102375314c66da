/**
 * The pending-broadcast queue with an injected clock (PROTOCOL.md sections 7.3, 7.4): a
 * 30-minute expiry tested in microseconds, durability before acknowledgement, acks that
 * survive a restart, the cap, group commit and compaction.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_BROADCAST_TTL_MS } from '../../src/net/constants.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { JsonlBroadcastStore } from '../../src/server/broadcasts/jsonl-store.ts';
import { BroadcastQueue } from '../../src/server/broadcasts/queue.ts';
import { MemoryBroadcastStore, type QueueRecord } from '../../src/server/broadcasts/store.ts';
import { tempDir } from '../helpers/server.ts';

const T0 = Date.UTC(2026, 0, 1);

function clock(start = T0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const isCode = (code: string) => (err: unknown) => err instanceof ProtocolError && err.code === code;

/** A memory store that counts its writes (group commit makes few of many). */
class CountingStore extends MemoryBroadcastStore {
  appends = 0;
  override async append(records: QueueRecord[]): Promise<void> {
    this.appends += 1;
    await super.append(records);
  }
}

test('a broadcast lives exactly its ttl (30 minutes by default)', async () => {
  const time = clock();
  const queue = new BroadcastQueue(new MemoryBroadcastStore(), { now: time.now });
  await queue.open();
  const { item } = await queue.add('alice', 'hello');
  assert.equal(item.expiresAt - item.createdAt, DEFAULT_BROADCAST_TTL_MS);
  time.advance(DEFAULT_BROADCAST_TTL_MS - 1);
  assert.ok(queue.get(item.bid));
  assert.deepEqual(queue.expire(), []);
  time.advance(1);
  assert.equal(queue.get(item.bid), undefined, 'gone at the expiry instant');
  assert.equal(queue.live().length, 0);
  assert.deepEqual(queue.expire().map((p) => p.item.bid), [item.bid]);
  assert.equal(queue.size, 0);
  await queue.close();
});

test('acks survive a crash; a restart after the expiry loads nothing', async () => {
  const time = clock();
  const store = new MemoryBroadcastStore();
  const first = new BroadcastQueue(store, { now: time.now, ttlMs: 60_000 });
  await first.open();
  const { item } = await first.add('alice', 'hello');
  assert.equal(first.ack(item.bid, 'Bob'), true);
  assert.equal(first.ack(item.bid, 'bob'), false, 'names ignore case');
  first.ack(item.bid, 'carol');
  first.ack('ffff', 'carol'); // unknown: ignored
  await first.flush(); // ... and then the process dies without closing the queue

  const second = new BroadcastQueue(store, { now: time.now, ttlMs: 60_000 });
  assert.deepEqual(await second.open(), { loaded: 1, expired: 0, tornRecords: 0 });
  assert.deepEqual([...(second.get(item.bid)?.acked ?? [])].sort(), ['bob', 'carol']);
  assert.equal(second.get(item.bid)?.item.text, 'hello');

  time.advance(60_000);
  const third = new BroadcastQueue(store, { now: time.now, ttlMs: 60_000 });
  assert.deepEqual(await third.open(), { loaded: 0, expired: 1, tornRecords: 0 });
  assert.equal(store.size, 0, 'the restart compacted the expired broadcast away');
});

test('the cap refuses with E_QUEUE_FULL until something expires', async () => {
  const time = clock();
  const queue = new BroadcastQueue(new MemoryBroadcastStore(), { now: time.now, ttlMs: 1_000, maxPending: 2 });
  await queue.open();
  await queue.add('alice', 'one');
  time.advance(500);
  // Two adds in flight at once: the staged one counts against the cap too.
  const [second, third] = await Promise.allSettled([queue.add('alice', 'two'), queue.add('bob', 'three')]);
  assert.equal(second.status, 'fulfilled');
  assert.ok(third.status === 'rejected' && isCode(ErrorCode.QUEUE_FULL)(third.reason));
  time.advance(500); // the first expires
  await queue.add('bob', 'three');
  assert.deepEqual(queue.live().map((p) => p.item.text), ['two', 'three']);
  await queue.close();
});

test('an add is answered only once durable: a failed write is E_STORAGE and leaves nothing', async () => {
  const dir = await tempDir('bqueue');
  try {
    const unopened = new BroadcastQueue(new MemoryBroadcastStore());
    await assert.rejects(unopened.add('alice', 'x'), isCode(ErrorCode.STORAGE), 'not open');

    const errors: Error[] = [];
    const path = join(dir.path, 'broadcasts.jsonl');
    const store = new JsonlBroadcastStore(path);
    const ok = new BroadcastQueue(store, { onError: (e) => errors.push(e) });
    await ok.open();
    const { item } = await ok.add('alice', 'durable');
    assert.match(await readFile(path, 'utf8'), new RegExp(item.bid), 'on disk before add resolved');
    await store.close(); // the file can no longer be written
    await assert.rejects(ok.add('alice', 'lost'), isCode(ErrorCode.STORAGE));
    assert.deepEqual(ok.live().map((p) => p.item.text), ['durable']);
    assert.equal(errors.length, 1);
  } finally {
    await dir.remove();
  }
});

test('group commit: fifty concurrent adds take a few writes, not fifty', async () => {
  const store = new CountingStore();
  const queue = new BroadcastQueue(store, { maxPending: 100 });
  await queue.open();
  const before = store.appends;
  await Promise.all(Array.from({ length: 50 }, (_, i) => queue.add('alice', `n${i}`)));
  assert.equal(queue.size, 50);
  assert.ok(store.appends - before <= 3, `${store.appends - before} writes`);
  await queue.close();
});

test('compaction keeps the log near the size of the live state', async () => {
  const dir = await tempDir('bqueue');
  try {
    const path = join(dir.path, 'broadcasts.jsonl');
    const queue = new BroadcastQueue(new JsonlBroadcastStore(path), { compactMinRecords: 20 });
    await queue.open();
    const { item } = await queue.add('alice', 'hello');
    for (let i = 0; i < 100; i++) {
      queue.ack(item.bid, `user${i}`);
      await queue.flush(); // one record per write: the worst case for the log's length
    }
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    assert.ok(lines.length <= 20, `${lines.length} lines`);
    // Killed here and started again: every ack is still there.
    const again = new BroadcastQueue(new JsonlBroadcastStore(path));
    await again.open();
    assert.equal(again.get(item.bid)?.acked.size, 100);
    await again.close();
  } finally {
    await dir.remove();
  }
});
