/**
 * The pending-broadcast queue with an injected clock (PROTOCOL.md sections 7.3, 7.4): a
 * 30-minute expiry tested in microseconds, durability before acknowledgement, acks that
 * survive a restart, the cap, group commit and compaction.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { JsonlBroadcastStore } from '../../src/server/broadcasts/jsonl-store.ts';
import { BroadcastQueue } from '../../src/server/broadcasts/queue.ts';
import { MemoryBroadcastStore, type BroadcastStore, type QueueRecord } from '../../src/server/broadcasts/store.ts';
import { tempDir } from '../helpers/server.ts';
import { pendingQueueContract, type QueueFactory } from './broadcasts/queue-contract.ts';
import { defer } from '../helpers/cleanup.ts';

const T0 = Date.UTC(2026, 0, 1);

function clock(start = T0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const isCode = (code: string) => (err: unknown) => err instanceof ProtocolError && err.code === code;

/** BroadcastQueue over a store; reopening makes a new queue (and a new store) on the same storage. */
function queueOver(
  newStore: () => BroadcastStore,
  onCleanup: () => Promise<void> = () => Promise.resolve(),
): QueueFactory {
  return ({ now, ttlMs, maxPending }) => {
    const queues: BroadcastQueue[] = [];
    const open = () => {
      const queue = new BroadcastQueue(newStore(), { now, ttlMs, maxPending });
      queues.push(queue);
      return queue;
    };
    return Promise.resolve({
      queue: open(),
      reopen: open,
      cleanup: async () => {
        for (const queue of queues) await queue.close();
        await onCleanup();
      },
    });
  };
}

{
  const memory = () => {
    const store = new MemoryBroadcastStore(); // one instance across queues stands for a restart
    return queueOver(() => store);
  };
  pendingQueueContract('BroadcastQueue over MemoryBroadcastStore', (options) => memory()(options));
  pendingQueueContract('BroadcastQueue over JsonlBroadcastStore', async (options) => {
    const dir = await tempDir('bqueue-contract');
    const path = join(dir.path, 'broadcasts.jsonl');
    return queueOver(() => new JsonlBroadcastStore(path), dir.remove)(options);
  });
}

/** A memory store that counts its writes (group commit makes few of many). */
class CountingStore extends MemoryBroadcastStore {
  appends = 0;
  override async append(records: QueueRecord[]): Promise<void> {
    this.appends += 1;
    await super.append(records);
  }
}

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

test('an add is answered only once durable: a failed write is E_STORAGE and leaves nothing', async (t) => {
  const dir = await tempDir('bqueue');
  defer(t, () => dir.remove());
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
  assert.deepEqual(
    ok.live().map((p) => p.item.text),
    ['durable'],
  );
  assert.equal(errors.length, 1);
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

test('compaction keeps the log near the size of the live state', async (t) => {
  const dir = await tempDir('bqueue');
  defer(t, () => dir.remove());
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
});
