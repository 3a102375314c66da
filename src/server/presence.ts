/**
 * Who is online (PROTOCOL.md section 4.5): username and IP only. Changes are coalesced per
 * user and flushed to every online client every PRESENCE_FLUSH_MS, so a login storm of N
 * users costs each client a few batches, not N messages.
 *
 * The whole list goes to every client that logs in, so during a storm it is sent N times:
 * it is kept in join order and encoded once per batch of MAX_PRESENCE_BATCH users, and a
 * batch's frame is reused until that batch changes (appends only touch the last one). The
 * same frames serve `welcome`'s follow-up and a resync, so neither encodes anything.
 */
import { MAX_PRESENCE_BATCH, OUTPUT_QUEUE_BYTES, PRESENCE_FLUSH_MS } from '../net/constants.ts';
import { encodeMessage } from '../net/codec.ts';
import type { ServerMessage, UserEntry } from '../net/messages.ts';
import type { ClientSession } from './session.ts';
import { userKey } from './users/store.ts';


/**
 * Each flush is one write to every online client, and a TLS write has a fixed cost (about
 * 30 us here, measured in bench/server-load.ts profiles) whatever its size: with many users
 * online, batches are spaced so flushes stay under this many writes a second.
 */
export const PRESENCE_WRITES_PER_SECOND = 20_000;

type Change = UserEntry | { left: string };

/** What a backed-up session missed: the changes, or 'resync' when they were too many. */
export type PresenceBacklog = Map<string, Change> | 'resync';

export class Presence {
  private readonly online = new Map<string, ClientSession>();
  /** user key -> latest entry (joined) or display name (left), in change order. */
  private readonly changes = new Map<string, Change>();
  private timer: NodeJS.Timeout | null = null;
  /** The list in join order, built on demand and extended in place by appends. */
  private entries: UserEntry[] | null = null;
  /** Encoded `presence` frame of list batch i (batch 0 carries `reset`). */
  private readonly batchFrames = new Map<number, Buffer>();

  constructor(
    private readonly flushMs = PRESENCE_FLUSH_MS,
    private readonly backlogBytes: number = OUTPUT_QUEUE_BYTES.PRESENCE_HOLD,
  ) {}

  get size(): number {
    return this.online.size;
  }

  get(username: string): ClientSession | undefined {
    return this.online.get(userKey(username));
  }

  sessions(): IterableIterator<ClientSession> {
    return this.online.values();
  }

  /** Everyone online, in join order. The array is shared: do not modify it. */
  list(): readonly UserEntry[] {
    this.entries ??= [...this.online.values()].map((s) => ({ user: s.user as string, ip: s.ip }));
    return this.entries;
  }

  /**
   * The whole list as `presence` frames, the first with `reset` (section 4.5): what a client
   * gets right after `welcome` and when it must resync. Each batch is encoded once and
   * reused until it changes.
   */
  listFrames(): Buffer[] {
    const all = this.list();
    const frames: Buffer[] = [];
    for (let i = 0; i === 0 || i * MAX_PRESENCE_BATCH < all.length; i++) {
      let frame = this.batchFrames.get(i);
      if (!frame) {
        const joined = all.slice(i * MAX_PRESENCE_BATCH, (i + 1) * MAX_PRESENCE_BATCH);
        frame = encodeMessage<ServerMessage>({ t: 'presence', joined, left: [], ...(i === 0 ? { reset: true } : {}) });
        this.batchFrames.set(i, frame);
      }
      frames.push(frame);
    }
    return frames;
  }

  /** Send a session the whole list (after welcome, or to resync it). */
  sendList(session: ClientSession): void {
    for (const frame of this.listFrames()) session.sendFrame(frame);
  }

  /** Add a session; returns the session it replaces for the same user, if any. */
  add(session: ClientSession): ClientSession | undefined {
    const key = userKey(session.user as string);
    const previous = this.online.get(key);
    this.online.set(key, session);
    const entry = { user: session.user as string, ip: session.ip };
    if (previous) this.invalidateList();
    else if (this.entries) {
      this.entries.push(entry);
      this.batchFrames.delete(Math.floor((this.entries.length - 1) / MAX_PRESENCE_BATCH));
    }
    this.change(key, entry);
    return previous;
  }

  /** Remove a session if it is still the current one for its user. */
  remove(session: ClientSession): boolean {
    if (!session.user) return false;
    const key = userKey(session.user);
    if (this.online.get(key) !== session) return false;
    this.online.delete(key);
    this.invalidateList();
    this.change(key, { left: session.user });
    return true;
  }

  /** A backed-up session drained: send what it missed. */
  catchUp(session: ClientSession): void {
    const missed = session.presenceBacklog;
    session.presenceBacklog = null;
    if (missed === null) return;
    if (missed === 'resync') return this.sendList(session);
    session.sendFrame(encodeBatch(missed.values()));
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.changes.clear();
  }

  flush(): void {
    this.timer = null;
    while (this.changes.size > 0) {
      const batch = new Map<string, Change>();
      for (const [key, change] of this.changes) {
        if (batch.size >= MAX_PRESENCE_BATCH) break;
        this.changes.delete(key);
        batch.set(key, change);
      }
      const frame = encodeBatch(batch.values());
      for (const session of this.online.values()) {
        if (session.conn.pendingOutputBytes > this.backlogBytes) {
          session.presenceBacklog = withMissed(session.presenceBacklog, batch);
          continue;
        }
        // Drained since it fell behind (the server also catches up on 'drain'): old news first.
        if (session.presenceBacklog !== null) this.catchUp(session);
        session.sendFrame(frame);
      }
    }
  }

  /** PRESENCE_FLUSH_MS, or longer when a flush would write to very many clients. */
  private flushInterval(): number {
    return Math.max(this.flushMs, Math.ceil((this.online.size * 1000) / PRESENCE_WRITES_PER_SECOND));
  }

  private invalidateList(): void {
    this.entries = null;
    this.batchFrames.clear();
  }

  private change(key: string, change: Change): void {
    this.changes.delete(key); // re-insert so the batch keeps change order
    this.changes.set(key, change);
    this.timer ??= setTimeout(() => this.flush(), this.flushInterval());
  }
}

function encodeBatch(changes: Iterable<Change>): Buffer {
  const joined: UserEntry[] = [];
  const left: string[] = [];
  for (const change of changes) {
    if ('left' in change) left.push(change.left);
    else joined.push(change);
  }
  return encodeMessage<ServerMessage>({ t: 'presence', joined, left });
}

/** Merge a batch into a session's backlog; past one batch's worth, give up and resync. */
function withMissed(backlog: PresenceBacklog | null, batch: Map<string, Change>): PresenceBacklog {
  if (backlog === 'resync') return backlog;
  const merged = backlog ?? new Map<string, Change>();
  for (const [key, change] of batch) {
    merged.delete(key);
    merged.set(key, change);
  }
  return merged.size > MAX_PRESENCE_BATCH ? 'resync' : merged;
}
