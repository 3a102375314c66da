/**
 * Presence changes as they are batched and as a backed-up session keeps them (PROTOCOL.md
 * section 4.5). Apart from presence.ts so that session.ts can hold a backlog without
 * importing the presence service (which itself works on sessions).
 */
import { MAX_PRESENCE_BATCH } from '../net/constants.ts';
import { encodeMessage } from '../net/codec.ts';
import type { ServerMessage, UserEntry } from '../net/messages.ts';

export type PresenceChange = UserEntry | { left: string };

/** What a backed-up session missed: the changes, or 'resync' when they were too many. */
export type PresenceBacklog = Map<string, PresenceChange> | 'resync';

export function encodeBatch(changes: Iterable<PresenceChange>): Buffer {
  const joined: UserEntry[] = [];
  const left: string[] = [];
  for (const change of changes) {
    if ('left' in change) left.push(change.left);
    else joined.push(change);
  }
  return encodeMessage<ServerMessage>({ t: 'presence', joined, left });
}

/** Merge a batch into a session's backlog; past one batch's worth, give up and resync. */
export function withMissed(backlog: PresenceBacklog | null, batch: Map<string, PresenceChange>): PresenceBacklog {
  if (backlog === 'resync') return backlog;
  const merged = backlog ?? new Map<string, PresenceChange>();
  for (const [key, change] of batch) {
    merged.delete(key);
    merged.set(key, change);
  }
  return merged.size > MAX_PRESENCE_BATCH ? 'resync' : merged;
}
