/**
 * Where the broadcast queue keeps its state (PROTOCOL.md section 7.3): an ordered log of
 * records. The queue holds the logic (expiry, acks, caps, group commit); a store only makes
 * records durable, so another backend needs just these four calls and must pass the same
 * contract suite (test/server/broadcast-store.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { broadcastItem, type BroadcastItem } from '../../net/messages.ts';
import { arr, lit, obj, oneOf, str } from '../../net/schema.ts';

/** Users are stored by key (lower case), so one user is one entry whatever case they log in with. */
export type QueueRecord = { op: 'add'; b: BroadcastItem } | { op: 'ack'; bid: string; users: string[] };

export interface LoadResult {
  records: QueueRecord[];
  /** Records at the end that were cut short by a crash and ignored. */
  tornRecords: number;
}

export interface BroadcastStore {
  /** Every durable record, oldest first. A torn end (a crash mid-append) is skipped, never fatal. */
  load(): Promise<LoadResult>;
  /** Resolves once the records are durable. The queue never overlaps two calls. */
  append(records: QueueRecord[]): Promise<void>;
  /** Replace everything with `records`, atomically: a crash leaves the old or the new content. */
  rewrite(records: QueueRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** A record that does not validate, with the line (1-based) where it was found. */
export class BroadcastStoreError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    detail: string,
  ) {
    super(`${file}${line === null ? '' : `, line ${line}`}: ${detail}`);
    this.name = 'BroadcastStoreError';
  }
}

/** A user key: a username (section 4.1) in lower case. */
const userKeyText = str({ min: 1, maxBytes: 32, pattern: /^[a-z0-9_][a-z0-9_.-]{0,31}$/ });
const bidText = str({ min: 1, maxBytes: 64, pattern: /^[0-9a-f]+$/ });
const recordValidators = {
  add: obj({ op: lit('add'), b: broadcastItem }),
  ack: obj({ op: lit('ack'), bid: bidText, users: arr(userKeyText, Number.MAX_SAFE_INTEGER) }),
};
const opValidator = oneOf('add', 'ack');

/** Validate one parsed record; throws SchemaError naming the field. */
export function parseRecord(value: unknown): QueueRecord {
  const op = opValidator((value as { op?: unknown } | null)?.op, 'op');
  return recordValidators[op](value);
}

/** A fresh broadcast id: random, so ids do not reveal how many broadcasts a server made. */
export function newBroadcastId(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Keeps records in memory, as JSON text so that nothing is shared with the caller (as with a
 * real disk). Reusing one instance across queues stands for a restart.
 */
export class MemoryBroadcastStore implements BroadcastStore {
  private lines: string[] = [];

  async load(): Promise<LoadResult> {
    await Promise.resolve(); // asynchronous, like a durable store
    return { records: this.lines.map((line) => parseRecord(JSON.parse(line))), tornRecords: 0 };
  }

  async append(records: QueueRecord[]): Promise<void> {
    await Promise.resolve(); // asynchronous, like a durable store
    for (const record of records) this.lines.push(JSON.stringify(record));
  }

  async rewrite(records: QueueRecord[]): Promise<void> {
    await Promise.resolve();
    this.lines = records.map((record) => JSON.stringify(record));
  }

  async close(): Promise<void> {}

  /** Records held, for tests. */
  get size(): number {
    return this.lines.length;
  }
}
