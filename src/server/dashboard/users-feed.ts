/**
 * Users pane: every account in the store with its live state. Reads only what the store
 * exposes as public (username, created, last seen) and the online session; never the hash.
 */
import type contrib from 'blessed-contrib';
import type { ServerCore } from '../server.ts';
import type { ClientSession } from '../session.ts';
import type { UserRecord } from '../users/store.ts';
import { Feed } from './feed.ts';
import { formatAgo, formatDateTime, safeText } from './format.ts';

/**
 * Rows given to the table. blessed makes one element per list item, so ten thousand
 * accounts would make every refresh slow; past this the label says to filter with `/`.
 */
export const MAX_USER_ROWS = 500;
/** "5m ago" drifts; refresh the pane this often even without events. */
export const USERS_REFRESH_MS = 10_000;

export const USER_COLUMNS = ['User', 'Created', 'Seen', 'IP', 'TCP', 'UDP'] as const;
/** Widths in characters, in USER_COLUMNS order; an IPv6 address is cut rather than the state columns pushed off. */
export const USER_COLUMN_WIDTHS = [18, 16, 10, 22, 8, 12];

export interface UserRow {
  user: string;
  created: string;
  seen: string;
  ip: string;
  tcp: string;
  udp: string;
}

const NOT_APPLICABLE = '-';

function rowOf(record: UserRecord, session: ClientSession | undefined, now: number): UserRow {
  const online = session?.isOnline === true;
  return {
    user: record.username,
    created: formatDateTime(record.createdAt),
    seen: online ? 'online' : record.lastSeenAt === null ? 'never' : formatAgo(now - record.lastSeenAt),
    ip: online ? session.ip : '',
    tcp: online ? session.state : NOT_APPLICABLE,
    udp: online ? (session.udp?.state ?? NOT_APPLICABLE) : NOT_APPLICABLE,
  };
}

/** Online users first (by name), then by most recently seen, never-seen last. */
function compareRecords(a: { record: UserRecord; online: boolean }, b: { record: UserRecord; online: boolean }): number {
  if (a.online !== b.online) return a.online ? -1 : 1;
  if (!a.online) {
    const seenA = a.record.lastSeenAt ?? -1;
    const seenB = b.record.lastSeenAt ?? -1;
    if (seenA !== seenB) return seenB - seenA;
  }
  return a.record.username.localeCompare(b.record.username);
}

/** The rows the table shows for a filter (case-insensitive substring of name or IP). */
export function userRows(core: ServerCore, filter: string, now: number): { rows: UserRow[]; matched: number; total: number } {
  const needle = filter.trim().toLowerCase();
  const matches: Array<{ record: UserRecord; session: ClientSession | undefined; online: boolean }> = [];
  const records = core.store.list();
  for (const record of records) {
    const session = core.presence.get(record.username);
    const online = session?.isOnline === true;
    if (needle && !record.username.toLowerCase().includes(needle) && !(online && session.ip.includes(needle))) continue;
    matches.push({ record, session, online });
  }
  matches.sort(compareRecords);
  const rows = matches.slice(0, MAX_USER_ROWS).map((m) => rowOf(m.record, m.session, now));
  return { rows, matched: matches.length, total: records.length };
}

export class UsersFeed extends Feed {
  private filterText = '';
  private lastRefreshAt = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly core: ServerCore,
    private readonly table: contrib.Widgets.TableElement,
    requestFrame: () => void,
  ) {
    super(requestFrame);
    const changed = () => this.markDirty();
    const events = ['register', 'login', 'logout', 'udp_path'] as const;
    for (const event of events) core.on(event, changed);
    this.unsubscribe = () => {
      for (const event of events) core.off(event, changed);
    };
  }

  get filter(): string {
    return this.filterText;
  }

  setFilter(text: string): void {
    if (text === this.filterText) return;
    this.filterText = text;
    this.markDirty();
  }

  override tick(now: number): void {
    if (now - this.lastRefreshAt >= USERS_REFRESH_MS) this.markDirty();
  }

  override dispose(): void {
    this.unsubscribe();
  }

  protected refresh(now: number): void {
    this.lastRefreshAt = now;
    const { rows, matched, total } = userRows(this.core, this.filterText, now);
    // Usernames and IPs cannot hold braces (PROTOCOL.md 4.1), but the table parses tags: escape anyway.
    const data = rows.map((r) => [r.user, r.created, r.seen, r.ip, r.tcp, r.udp].map(safeText));
    this.table.setData({ headers: [...USER_COLUMNS], data });
    const parts = [`Users ${matched === total ? total : `${matched} of ${total}`}`];
    if (this.filterText) parts.push(`filter "${this.filterText}"`);
    if (matched > rows.length) parts.push(`first ${rows.length} shown, / to filter`);
    this.table.setLabel(` ${safeText(parts.join(' · '))} `);
  }
}
