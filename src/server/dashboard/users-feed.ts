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
import { WindowedTable } from './windowed-table.ts';

/** A sort over every account: during a login storm, once a second is plenty. */
export const USERS_MIN_REFRESH_MS = 1_000;
/** "5m ago" drifts; refresh the pane this often even without events. */
export const USERS_REFRESH_MS = 10_000;

export const USER_COLUMNS = ['User', 'Created', 'Seen', 'IP', 'TCP', 'UDP'] as const;
/** Widths in characters, in USER_COLUMNS order; an IPv6 address is cut rather than the state columns pushed off. */
export const USER_COLUMN_WIDTHS = [18, 16, 10, 22, 8, 12];

const NOT_APPLICABLE = '-';

export interface UserEntry {
  record: UserRecord;
  /** The user's online session, if any. */
  session: ClientSession | undefined;
}

/** Online users first (by name), then by most recently seen, never-seen last. */
function compareEntries(a: UserEntry, b: UserEntry): number {
  const onlineA = a.session !== undefined;
  const onlineB = b.session !== undefined;
  if (onlineA !== onlineB) return onlineA ? -1 : 1;
  if (!onlineA) {
    const seenA = a.record.lastSeenAt ?? -1;
    const seenB = b.record.lastSeenAt ?? -1;
    if (seenA !== seenB) return seenB - seenA;
  }
  return a.record.username.localeCompare(b.record.username);
}

/** The accounts the table lists for a filter (case-insensitive substring of name or IP), in order. */
export function userEntries(core: ServerCore, filter: string): { entries: UserEntry[]; total: number } {
  const needle = filter.trim().toLowerCase();
  const entries: UserEntry[] = [];
  const records = core.store.list();
  for (const record of records) {
    const found = core.presence.get(record.username);
    const session = found?.isOnline ? found : undefined;
    if (needle && !record.username.toLowerCase().includes(needle) && !(session && session.ip.includes(needle)))
      continue;
    entries.push({ record, session });
  }
  entries.sort(compareEntries);
  return { entries, total: records.length };
}

/** One table row; values are escaped (the table parses tags). */
export function userCells({ record, session }: UserEntry, now: number): string[] {
  const cells = session
    ? [
        record.username,
        formatDateTime(record.createdAt),
        'online',
        session.ip,
        session.state,
        session.udp?.state ?? NOT_APPLICABLE,
      ]
    : [
        record.username,
        formatDateTime(record.createdAt),
        record.lastSeenAt === null ? 'never' : formatAgo(now - record.lastSeenAt),
        '',
        NOT_APPLICABLE,
        NOT_APPLICABLE,
      ];
  return cells.map(safeText);
}

export class UsersFeed extends Feed {
  readonly rows: WindowedTable<UserEntry>;
  private filterText = '';
  private lastRefreshAt = 0;

  constructor(
    private readonly core: ServerCore,
    private readonly table: contrib.Widgets.TableElement,
    requestFrame: () => void,
    private readonly now: () => number,
  ) {
    super(requestFrame, [table], USERS_MIN_REFRESH_MS);
    this.rows = new WindowedTable(table, USER_COLUMNS, (entry) => userCells(entry, this.now()));
    this.follow(core, ['register', 'login', 'logout', 'udp_path']);
  }

  get filter(): string {
    return this.filterText;
  }

  setFilter(text: string): void {
    if (text === this.filterText) return;
    this.filterText = text;
    this.invalidate();
  }

  override tick(now: number): void {
    if (now - this.lastRefreshAt >= USERS_REFRESH_MS) this.markDirty();
  }

  protected refresh(now: number): void {
    this.lastRefreshAt = now;
    const { entries, total } = userEntries(this.core, this.filterText);
    this.rows.setRows(entries);
    const parts = [`Users ${entries.length === total ? total : `${entries.length} of ${total}`}`];
    if (this.filterText) parts.push(`filter "${this.filterText}"`);
    this.table.setLabel(` ${safeText(parts.join(' · '))} `);
  }
}
