/**
 * Users pane: every account in the store with its live state. Reads only what the store
 * exposes as public (username, created, last seen) and the online session; never the hash.
 */
import type contrib from 'blessed-contrib';
import type { ServerCore } from '../server.ts';
import type { ClientSession } from '../session.ts';
import type { UserRecord } from '../users/store.ts';
import { userKey } from '../../net/names.ts';
import type { ClusterUser, ClusterView } from './cluster-view.ts';
import { Feed } from './feed.ts';
import { formatAgo, formatDateTime, safeText } from './format.ts';
import { byNumber, byText, tableLabel, TableModel, type Column } from './table-model.ts';
import { WindowedTable } from './windowed-table.ts';

/** A sort over every account: during a login storm, once a second is plenty. */
export const USERS_MIN_REFRESH_MS = 1_000;
/** "5m ago" drifts; refresh the pane this often even without events. */
export const USERS_REFRESH_MS = 10_000;

const NOT_APPLICABLE = '-';

export interface UserEntry {
  record: UserRecord;
  /** The user's online session, if any. */
  session: ClientSession | undefined;
  /** Cluster mode: online on another node (cluster-view.ts). */
  remote?: ClusterUser;
}

const isOnline = (e: UserEntry): boolean => e.session !== undefined || e.remote !== undefined;
const ipOf = (e: UserEntry): string => e.session?.ip ?? e.remote?.ip ?? '';

/** Online users first (by name), then by most recently seen, never-seen last. */
function compareEntries(a: UserEntry, b: UserEntry): number {
  const onlineA = isOnline(a);
  const onlineB = isOnline(b);
  if (onlineA !== onlineB) return onlineA ? -1 : 1;
  if (!onlineA) {
    const seenA = a.record.lastSeenAt ?? -1;
    const seenB = b.record.lastSeenAt ?? -1;
    if (seenA !== seenB) return seenB - seenA;
  }
  return byName(a, b);
}

const byName = (a: UserEntry, b: UserEntry): number => byText(a.record.username, b.record.username);
/** Online is the most recent; never seen the least. */
const seenValue = (e: UserEntry): number => (isOnline(e) ? Infinity : (e.record.lastSeenAt ?? -Infinity));
const then = (order: number, a: UserEntry, b: UserEntry): number => order || byName(a, b);

/**
 * The users table's columns. Dates and short states never shrink (a cut date reads as
 * another date); an IPv6 address is cut rather than the state columns pushed off.
 */
export const USER_COLUMNS: readonly Column<UserEntry>[] = [
  { title: 'User', width: 18, min: 8, cell: (e) => e.record.username, compare: byName },
  {
    title: 'Created',
    width: 16,
    cell: (e) => formatDateTime(e.record.createdAt),
    compare: (a, b) => then(byNumber(a.record.createdAt, b.record.createdAt), a, b),
  },
  {
    title: 'Seen',
    width: 10,
    min: 8,
    cell: (e, now) =>
      isOnline(e) ? 'online' : e.record.lastSeenAt === null ? 'never' : formatAgo(now - e.record.lastSeenAt),
    compare: (a, b) => then(byNumber(seenValue(a), seenValue(b)) || 0, a, b),
  },
  {
    title: 'IP',
    width: 22,
    min: 15,
    cell: ipOf,
    compare: (a, b) => then(byText(ipOf(a), ipOf(b)), a, b),
  },
  {
    title: 'TCP',
    width: 8,
    min: 6,
    cell: (e) => e.session?.state ?? NOT_APPLICABLE,
    compare: (a, b) => then(byText(a.session?.state ?? '', b.session?.state ?? ''), a, b),
  },
  {
    title: 'UDP',
    width: 12,
    min: 7,
    cell: (e) => e.session?.udp?.state ?? NOT_APPLICABLE,
    compare: (a, b) => then(byText(a.session?.udp?.state ?? '', b.session?.udp?.state ?? ''), a, b),
  },
];

/** Cluster mode: the node a user is online on (this one's id for a local session). */
function nodeColumn(ownId: string): Column<UserEntry> {
  const nodeOf = (e: UserEntry) => (e.session ? ownId : (e.remote?.node ?? ''));
  return {
    title: 'Node',
    width: 10,
    min: 6,
    cell: nodeOf,
    compare: (a, b) => then(byText(nodeOf(a), nodeOf(b)), a, b),
  };
}

/** A filter matches a name, an online user's IP, or (cluster mode) the node they are on. */
const matchesUser = (e: UserEntry, needle: string): boolean =>
  e.record.username.toLowerCase().includes(needle) ||
  ipOf(e).includes(needle) ||
  (e.remote?.node.toLowerCase().includes(needle) ?? false);

/** The users table; in cluster mode (`ownId` given) with a Node column. */
export const usersModel = (ownId?: string): TableModel<UserEntry> =>
  new TableModel(
    ownId === undefined ? USER_COLUMNS : [...USER_COLUMNS, nodeColumn(ownId)],
    compareEntries,
    matchesUser,
  );

/** Every account with its online session, if any, in store order; in cluster mode, where else it is online. */
export function* userEntries(
  core: Pick<ServerCore, 'store' | 'presence'>,
  cluster?: ClusterView,
): Generator<UserEntry> {
  const remote = new Map<string, ClusterUser>();
  if (cluster) for (const u of cluster.clusterUsers()) if (u.node !== cluster.nodeId) remote.set(userKey(u.user), u);
  for (const record of core.store.list()) {
    const found = core.presence.get(record.username);
    const session = found?.isOnline ? found : undefined;
    const elsewhere = session ? undefined : remote.get(userKey(record.username));
    yield elsewhere ? { record, session, remote: elsewhere } : { record, session };
  }
}

export class UsersFeed extends Feed {
  readonly rows: WindowedTable<UserEntry>;
  private lastRefreshAt = 0;

  constructor(
    private readonly core: ServerCore,
    private readonly table: contrib.Widgets.TableElement,
    requestFrame: () => void,
    private readonly now: () => number,
    private readonly cluster?: ClusterView,
  ) {
    super(requestFrame, [table], USERS_MIN_REFRESH_MS);
    this.rows = new WindowedTable(table, usersModel(cluster?.nodeId), this.now);
    this.follow(core, ['register', 'login', 'logout', 'udp_path']);
  }

  override tick(now: number): void {
    // Logins on other nodes raise no event here: in cluster mode, look again every second.
    if (this.cluster || now - this.lastRefreshAt >= USERS_REFRESH_MS) this.markDirty();
  }

  protected refresh(now: number): void {
    this.lastRefreshAt = now;
    const entries = this.rows.model.apply(userEntries(this.core, this.cluster));
    this.rows.setRows(entries);
    this.table.setLabel(` ${safeText(tableLabel('Users', entries.length, this.core.store.size, this.rows.model))} `);
  }
}
