/**
 * "bob is away: lunch" / "bob is back" in the chat tab with bob, as IRC clients say it when
 * you talk to someone away. The presence stream re-sends a user's whole entry when their
 * away state changes (PROTOCOL.md 4.7); this remembers the last state seen per user and
 * speaks only on a change. Bounded by the users online: a user who leaves is forgotten.
 */
import type { UserEntry } from '../../net/messages.ts';
import { userKey } from '../../net/names.ts';

export class AwayNotes {
  /** user key -> away reason, or null when available. */
  private readonly known = new Map<string, string | null>();

  constructor(private readonly say: (user: string, text: string) => void) {}

  /** A user left (their next login starts available, and is not news). */
  gone(user: string): void {
    this.known.delete(userKey(user));
  }

  /** An entry from the presence stream: a change of away state is said once. */
  seen(entry: UserEntry): void {
    const key = userKey(entry.user);
    const now = entry.away ?? null;
    const before = this.known.has(key) ? this.known.get(key) : null;
    this.known.set(key, now);
    if (now === before) return;
    if (now === null) this.say(entry.user, `${entry.user} is back.`);
    else this.say(entry.user, `${entry.user} is away${now ? `: ${now}` : ''}.`);
  }
}
