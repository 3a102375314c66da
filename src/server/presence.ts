/**
 * Who is online (PROTOCOL.md section 4.5): username and IP only. Changes are coalesced per
 * user and flushed to every online client every PRESENCE_FLUSH_MS, so a login storm of N
 * users costs each client a few batches, not N messages.
 */
import { MAX_PRESENCE_BATCH, PRESENCE_FLUSH_MS } from '../net/constants.ts';
import { encodeMessage } from '../net/codec.ts';
import type { ServerMessage, UserEntry } from '../net/messages.ts';
import type { ClientSession } from './session.ts';
import { userKey } from './users/store.ts';

/**
 * A session with more than this queued for it is not sent deltas; it is marked stale and
 * gets the whole list again (`reset`) once its output drains (section 4.5). Bounds what a
 * slow reader costs during a login storm, when every batch goes to every client.
 */
export const PRESENCE_BACKLOG_BYTES = 64 * 1024;

export class Presence {
  private readonly online = new Map<string, ClientSession>();
  /** user key -> latest entry (joined) or display name (left), in change order. */
  private readonly changes = new Map<string, UserEntry | { left: string }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly flushMs = PRESENCE_FLUSH_MS) {}

  get size(): number {
    return this.online.size;
  }

  get(username: string): ClientSession | undefined {
    return this.online.get(userKey(username));
  }

  sessions(): IterableIterator<ClientSession> {
    return this.online.values();
  }

  list(): UserEntry[] {
    return [...this.online.values()].map((s) => ({ user: s.user as string, ip: s.ip }));
  }

  /** The list in batches that each fit a frame (at least one, maybe empty). */
  batches(): UserEntry[][] {
    const all = this.list();
    const out: UserEntry[][] = [];
    for (let i = 0; i < all.length || i === 0; i += MAX_PRESENCE_BATCH) out.push(all.slice(i, i + MAX_PRESENCE_BATCH));
    return out;
  }

  /** Send a stale session the whole list, replacing what it has. */
  resync(session: ClientSession): void {
    session.presenceStale = false;
    this.batches().forEach((joined, i) => session.send({ t: 'presence', joined, left: [], ...(i === 0 ? { reset: true } : {}) }));
  }

  /** Add a session; returns the session it replaces for the same user, if any. */
  add(session: ClientSession): ClientSession | undefined {
    const key = userKey(session.user as string);
    const previous = this.online.get(key);
    this.online.set(key, session);
    this.change(key, { user: session.user as string, ip: session.ip });
    return previous;
  }

  /** Remove a session if it is still the current one for its user. */
  remove(session: ClientSession): boolean {
    if (!session.user) return false;
    const key = userKey(session.user);
    if (this.online.get(key) !== session) return false;
    this.online.delete(key);
    this.change(key, { left: session.user });
    return true;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.changes.clear();
  }

  private change(key: string, entry: UserEntry | { left: string }): void {
    this.changes.delete(key); // re-insert so the batch keeps change order
    this.changes.set(key, entry);
    this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  flush(): void {
    this.timer = null;
    while (this.changes.size > 0) {
      const joined: UserEntry[] = [];
      const left: string[] = [];
      for (const [key, entry] of this.changes) {
        if (joined.length + left.length >= MAX_PRESENCE_BATCH) break;
        this.changes.delete(key);
        if ('left' in entry) left.push(entry.left);
        else joined.push(entry);
      }
      const batch: ServerMessage = { t: 'presence', joined, left };
      const frame = encodeMessage(batch);
      for (const session of this.online.values()) {
        if (session.presenceStale) continue;
        if (session.conn.pendingOutputBytes > PRESENCE_BACKLOG_BYTES) session.presenceStale = true;
        else session.sendFrame(frame);
      }
    }
  }
}
