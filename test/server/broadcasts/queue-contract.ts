/**
 * The PendingQueue contract (src/server/broadcasts/ports.ts; PROTOCOL.md sections 7.1-7.4):
 * what the broadcasts service and delivery rely on of the pending-broadcast queue. The
 * in-process BroadcastQueue runs it over each BroadcastStore; a shared queue for a cluster
 * must pass it too. Every case runs on an injected clock.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { DEFAULT_BROADCAST_TTL_MS } from '../../../src/net/constants.ts';
import { ErrorCode, ProtocolError } from '../../../src/net/errors.ts';
import type { PendingQueue } from '../../../src/server/broadcasts/ports.ts';
import type { Clock } from '../../../src/server/rate-limit.ts';
import { defer } from '../../helpers/cleanup.ts';

export interface QueueFixture {
  /** A new, not yet opened queue on empty storage. */
  queue: PendingQueue;
  /** A new queue instance on the same storage (after `queue` was closed). */
  reopen(): PendingQueue;
  cleanup(): Promise<void>;
}

export type QueueFactory = (options: { now: Clock; ttlMs?: number; maxPending?: number }) => Promise<QueueFixture>;

const T0 = Date.UTC(2026, 0, 1);

function clock(start = T0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const isCode = (code: string) => (err: unknown) => err instanceof ProtocolError && err.code === code;

export function pendingQueueContract(name: string, make: QueueFactory): void {
  describe(`PendingQueue contract: ${name}`, () => {
    /** An open queue on a manual clock, cleaned up when the test ends. */
    async function queueFixture(
      t: TestContext,
      options: { ttlMs?: number; maxPending?: number } = {},
    ): Promise<{ queue: PendingQueue; time: ReturnType<typeof clock>; fx: QueueFixture }> {
      const time = clock();
      const fx = await make({ now: time.now, ...options });
      defer(t, () => fx.cleanup());
      await fx.queue.open();
      return { queue: fx.queue, time, fx };
    }

    test('a broadcast lives exactly its ttl (30 minutes by default)', async (t) => {
      const { queue, time } = await queueFixture(t);
      assert.equal(queue.ttlMs, DEFAULT_BROADCAST_TTL_MS);
      const { item } = await queue.add('alice', 'hello');
      assert.equal(item.expiresAt - item.createdAt, DEFAULT_BROADCAST_TTL_MS);
      assert.equal(item.createdAt, T0);
      time.advance(DEFAULT_BROADCAST_TTL_MS - 1);
      assert.ok(queue.get(item.bid));
      assert.deepEqual(queue.expire(), []);
      time.advance(1);
      assert.equal(queue.get(item.bid), undefined, 'gone at the expiry instant');
      assert.equal(queue.live().length, 0);
      assert.deepEqual(
        queue.expire().map((p) => p.item.bid),
        [item.bid],
      );
      assert.deepEqual(queue.expire(), [], 'expired once');
      assert.equal(queue.size, 0);
      await queue.close();
    });

    test('live() is oldest first; ids are distinct; get() finds each', async (t) => {
      const { queue, time } = await queueFixture(t, { ttlMs: 60_000 });
      const added = [];
      for (const text of ['one', 'two', 'three']) {
        added.push((await queue.add('alice', text)).item);
        time.advance(10);
      }
      assert.deepEqual(
        queue.live().map((p) => p.item.text),
        ['one', 'two', 'three'],
      );
      assert.equal(new Set(added.map((i) => i.bid)).size, 3);
      for (const item of added) assert.equal(queue.get(item.bid)?.item.text, item.text);
      assert.equal(queue.size, 3);
      await queue.close();
    });

    test('ack: news once per user, ignoring case; unknown and expired ids are not', async (t) => {
      const { queue, time } = await queueFixture(t, { ttlMs: 1_000 });
      const { item } = await queue.add('alice', 'hello');
      assert.equal(queue.ack(item.bid, 'Bob'), true);
      assert.equal(queue.ack(item.bid, 'bob'), false, 'names ignore case');
      assert.equal(queue.ack(item.bid, 'carol'), true);
      assert.equal(queue.ack('ffff', 'carol'), false);
      assert.deepEqual([...(queue.get(item.bid)?.acked ?? [])].sort(), ['bob', 'carol']);
      time.advance(1_000);
      assert.equal(queue.ack(item.bid, 'dave'), false, 'expired');
      await queue.close();
    });

    test('the cap refuses with E_QUEUE_FULL until something expires', async (t) => {
      const { queue, time } = await queueFixture(t, { ttlMs: 1_000, maxPending: 2 });
      await queue.add('alice', 'one');
      time.advance(500);
      // Two adds in flight at once: the staged one counts against the cap too.
      const [second, third] = await Promise.allSettled([queue.add('alice', 'two'), queue.add('bob', 'three')]);
      assert.equal(second.status, 'fulfilled');
      assert.ok(third.status === 'rejected' && isCode(ErrorCode.QUEUE_FULL)(third.reason));
      assert.throws(() => queue.assertRoom(), isCode(ErrorCode.QUEUE_FULL));
      time.advance(500); // the first expires
      queue.assertRoom();
      await queue.add('bob', 'three');
      assert.deepEqual(
        queue.live().map((p) => p.item.text),
        ['two', 'three'],
      );
      await queue.close();
    });

    test('broadcasts and acks outlive a restart; what expired meanwhile does not', async (t) => {
      const { queue, time, fx } = await queueFixture(t, { ttlMs: 60_000 });
      const kept = (await queue.add('alice', 'kept')).item;
      time.advance(30_000);
      const later = (await queue.add('bob', 'later')).item;
      queue.ack(kept.bid, 'Carol');
      await queue.close();
      time.advance(30_000); // `kept` expires while the server is down
      const again = fx.reopen();
      assert.deepEqual(await again.open(), { loaded: 1, expired: 1, tornRecords: 0 });
      assert.equal(again.get(kept.bid), undefined);
      assert.deepEqual(again.get(later.bid)?.item, later);
      assert.equal(again.ack(later.bid, 'carol'), true, 'an ack of another broadcast is not carried over');
      await again.close();
    });
  });
}
