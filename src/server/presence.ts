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
import { encodeBatch, withMissed, type PresenceChange } from './presence-changes.ts';
import type { OnlineSession } from './session.ts';
import { userKey } from './users/store.ts';

/**
 * Each flush is one write to every online client, and a TLS write has a fixed cost (about
 * 30 us here, measured in bench/server-load.ts profiles) whatever its size: with many users
 * online, batches are spaced so flushes stay under this many writes a second.
 */
export const PRESENCE_WRITES_PER_SECOND = 20_000;

type Change = PresenceChange;
export type { PresenceBacklog } from './presence-changes.ts';

/**
 * Who is online, as the rest of the server uses it. The in-memory `Presence` is the one
 * implementation today; a shared (Redis) one for a cluster must pass the same contract
 * suite (test/server/presence-contract.ts). Names are matched ignoring case (`userKey`).
 */
export interface PresenceDirectory {
  readonly size: number;
  /** The online session of this user (any case), if any. */
  get(username: string): OnlineSession | undefined;
  sessions(): IterableIterator<OnlineSession>;
  /** Everyone online, in join order; a replaced login keeps no stale entry. */
  list(): readonly UserEntry[];
  /** Add a session; returns the session it replaces for the same user, if any. */
  add(session: OnlineSession): OnlineSession | undefined;
  /** Remove a session if it is still the current one for its user; true if it was. */
  remove(session: OnlineSession): boolean;
  /**
   * Mark the session's user away with `reason` ('' for none), or back with null (section 4.7);
   * everyone gets the change as a `joined` entry. A new login, a logout and a replaced
   * session start without it. Returns false if the session is not the user's current one.
   */
  setAway(session: OnlineSession, reason: string | null): boolean;
  /** Send a session the whole list (after welcome, or to resync it). */
  sendList(session: OnlineSession): void;
  /** A backed-up session drained: send what it missed. */
  catchUp(session: OnlineSession): void;
  /** Send the changes batched so far to every online session now. */
  flush(): void;
  stop(): void;
}

export class Presence implements PresenceDirectory {
  protected readonly online = new Map<string, OnlineSession>();
  /** user key -> away reason ('' for none), for users online and away. */
  private readonly away = new Map<string, string>();
  /** user key -> latest entry (joined) or display name (left), in change order. */
  private readonly changes = new Map<string, Change>();
  private timer: NodeJS.Timeout | null = null;
  /** The list in join order, built on demand and extended in place by appends. */
  protected entries: UserEntry[] | null = null;
  /** Encoded `presence` frame of list batch i (batch 0 carries `reset`). */
  private readonly batchFrames = new Map<number, Buffer>();

  constructor(
    private readonly flushMs = PRESENCE_FLUSH_MS,
    private readonly backlogBytes: number = OUTPUT_QUEUE_BYTES.PRESENCE_HOLD,
  ) {}

  get size(): number {
    return this.online.size;
  }

  get(username: string): OnlineSession | undefined {
    return this.online.get(userKey(username));
  }

  sessions(): IterableIterator<OnlineSession> {
    return this.online.values();
  }

  /** Everyone online, in join order. The array is shared: do not modify it. */
  list(): readonly UserEntry[] {
    this.entries ??= this.buildList();
    return this.entries;
  }

  /** The list from scratch (a cluster adds the users on other nodes). */
  protected buildList(): UserEntry[] {
    return [...this.online.values()].map((s) => this.entryOf(s));
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
  sendList(session: OnlineSession): void {
    for (const frame of this.listFrames()) session.sendFrame(frame);
  }

  /** Add a session; returns the session it replaces for the same user, if any. */
  add(session: OnlineSession): OnlineSession | undefined {
    const key = userKey(session.user);
    const previous = this.online.get(key);
    this.online.set(key, session);
    this.away.delete(key);
    const entry = { user: session.user, ip: session.ip };
    if (previous) this.invalidateList();
    else if (this.entries) {
      this.entries.push(entry);
      this.batchFrames.delete(Math.floor((this.entries.length - 1) / MAX_PRESENCE_BATCH));
    }
    this.change(key, entry);
    return previous;
  }

  /** Remove a session if it is still the current one for its user. */
  remove(session: OnlineSession): boolean {
    const key = userKey(session.user);
    if (this.online.get(key) !== session) return false;
    this.online.delete(key);
    this.away.delete(key);
    this.invalidateList();
    this.change(key, { left: session.user });
    return true;
  }

  setAway(session: OnlineSession, reason: string | null): boolean {
    const key = userKey(session.user);
    if (this.online.get(key) !== session) return false;
    if (reason === null ? !this.away.has(key) : this.away.get(key) === reason) return true;
    if (reason === null) this.away.delete(key);
    else this.away.set(key, reason);
    // The entry changed in place: the cached list and its frames are stale.
    this.invalidateList();
    this.change(key, this.entryOf(session));
    return true;
  }

  protected entryOf(session: OnlineSession): UserEntry {
    const away = this.away.get(userKey(session.user));
    return away === undefined ? { user: session.user, ip: session.ip } : { user: session.user, ip: session.ip, away };
  }

  /** A backed-up session drained: send what it missed. */
  catchUp(session: OnlineSession): void {
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
    // Called early (tests, shutdown): the armed timer would otherwise keep the process alive.
    if (this.timer) clearTimeout(this.timer);
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

  protected invalidateList(): void {
    this.entries = null;
    this.batchFrames.clear();
  }

  protected change(key: string, change: Change): void {
    this.changes.delete(key); // re-insert so the batch keeps change order
    this.changes.set(key, change);
    this.timer ??= setTimeout(() => this.flush(), this.flushInterval());
  }
}
