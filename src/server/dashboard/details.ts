/**
 * What Enter opens: a user, a broadcast or an event, whole. Plain lines (the view escapes
 * them), built from the server's read-only state plus what DeliveryLog and PeerRequests
 * learned from the server's events. Rebuilt every second while open, so the view is live.
 */
import { formatCountdown } from '../../util/duration.ts';
import { userKey } from '../../net/names.ts';
import type { AckRecord } from '../broadcasts/service.ts';
import type { ServerEvents } from '../events.ts';
import type { ServerCore } from '../server.ts';
import { isOnline, UdpPathState } from '../session.ts';
import type { LogRecord } from './event-log-feed.ts';
import { eventText } from './event-text.ts';
import { formatAgo, formatBytes, formatClock, formatDateTime } from './format.ts';
import type { PendingBroadcastInfo } from './broadcasts-feed.ts';
import type { UserEntry } from './users-feed.ts';

/** Broadcasts whose per-user ack times are kept (the newest): bounds memory at 10,000 users. */
export const ACK_LOG_BROADCASTS = 16;
/** Lines of a user's own events in their detail view. */
export const USER_DETAIL_EVENTS = 12;
/** Names listed per group in a broadcast's detail; the rest are counted. */
export const DETAIL_MAX_NAMES = 200;

type Core = Pick<ServerCore, 'store' | 'presence' | 'broadcasts' | 'on' | 'off' | 'now'>;

/** When and over which path each user acknowledged the newest broadcasts. */
export class DeliveryLog {
  private readonly byBid = new Map<string, Map<string, AckRecord>>();
  private readonly onAck = (ack: AckRecord) => {
    let acks = this.byBid.get(ack.bid);
    if (!acks) {
      acks = new Map();
      this.byBid.set(ack.bid, acks);
      // Maps keep insertion order: the first key is the oldest broadcast.
      const oldest = this.byBid.size > ACK_LOG_BROADCASTS ? this.byBid.keys().next().value : undefined;
      if (oldest !== undefined) this.byBid.delete(oldest);
    }
    acks.set(userKey(ack.user), ack);
  };

  constructor(private readonly core: Core) {
    core.broadcasts.acks.on('ack', this.onAck);
  }

  get(bid: string, user: string): AckRecord | undefined {
    return this.byBid.get(bid)?.get(userKey(user));
  }

  dispose(): void {
    this.core.broadcasts.acks.off('ack', this.onAck);
  }
}

type PeerRequestEvent = ServerEvents['peer_request'][0];

/** Peer requests waiting for an answer, from the server's peer_request / peer_result events. */
export class PeerRequests {
  private readonly pending = new Map<string, PeerRequestEvent & { at: number }>();
  private readonly onRequest = (e: PeerRequestEvent) =>
    void this.pending.set(`${userKey(e.from)}\n${userKey(e.to)}`, { ...e, at: this.core.now() });
  private readonly onResult = (e: PeerRequestEvent) => void this.pending.delete(`${userKey(e.from)}\n${userKey(e.to)}`);

  constructor(private readonly core: Core) {
    core.on('peer_request', this.onRequest);
    core.on('peer_result', this.onResult);
  }

  of(user: string): Array<PeerRequestEvent & { at: number }> {
    const key = userKey(user);
    return [...this.pending.values()].filter((r) => userKey(r.from) === key || userKey(r.to) === key);
  }

  dispose(): void {
    this.core.off('peer_request', this.onRequest);
    this.core.off('peer_result', this.onResult);
  }
}

const row = (name: string, value: string): string => `${name.padEnd(14)}${value}`;

export function userDetail(
  core: Core,
  entry: UserEntry,
  peers: PeerRequests,
  events: readonly LogRecord[],
  now: number,
): string[] {
  const { record } = entry;
  const found = core.presence.get(record.username);
  const session = found && isOnline(found) ? found : undefined;
  const lines = [
    row('User', record.username),
    row('Created', formatDateTime(record.createdAt)),
    row(
      'Last seen',
      session
        ? 'online now'
        : record.lastSeenAt === null
          ? 'never'
          : `${formatAgo(now - record.lastSeenAt)} (${formatDateTime(record.lastSeenAt)})`,
    ),
  ];
  if (session) {
    const udp = session.udp;
    lines.push(
      row('IP', session.ip),
      row('Session', `#${session.id} ${session.state}, connected ${formatClock(session.connectedAt)}`),
      row('TCP', `${session.state}, ${formatBytes(session.conn.pendingOutputBytes)} queued to send`),
      row(
        'UDP',
        udp.state === UdpPathState.UNREGISTERED
          ? 'not heard from yet'
          : `${udp.state}${udp.endpoint ? ` from ${udp.endpoint.address}:${udp.endpoint.port}` : ''}, last heard ${formatAgo(now - udp.lastHeardAt)}`,
      ),
    );
  } else {
    lines.push(row('IP', '- (offline)'), row('Session', 'none'));
  }
  const requests = peers.of(record.username);
  lines.push('', `Pending peer requests: ${requests.length}`);
  for (const r of requests) lines.push(`  ${r.from} (${r.fromIp}) -> ${r.to} (${r.toIp}), asked ${formatClock(r.at)}`);
  const key = userKey(record.username);
  const waiting = core.broadcasts.pending().filter((b) => !core.broadcasts.queue.get(b.bid)?.acked.has(key));
  lines.push('', `Broadcasts waiting for ${record.username}: ${waiting.length}`);
  for (const b of waiting.slice(0, DETAIL_MAX_NAMES))
    lines.push(`  ${b.bid.slice(0, 8)} from ${b.from}, ${formatCountdown(b.expiresAt - now)} left: "${b.preview}"`);
  const own = events.filter((e) => mentions(e, key)).slice(-USER_DETAIL_EVENTS);
  lines.push('', `Recent events (${own.length}):`);
  for (const e of own)
    lines.push(`  ${formatClock(e.at)} ${e.level.toUpperCase().padEnd(5)} ${eventText(e.event, e.fields)}`);
  return lines;
}

/** Does an event name this user in any of its user fields? */
function mentions(record: LogRecord, key: string): boolean {
  const f = record.fields as Record<string, unknown>;
  return [f.user, f.from, f.to, f.peer].some((v) => typeof v === 'string' && userKey(v) === key);
}

/**
 * Every registered user's state for one broadcast: acknowledged (when, over which path),
 * or pending (online: being sent over UDP or TCP; offline: at their next login).
 */
export function broadcastDetail(core: Core, info: PendingBroadcastInfo, log: DeliveryLog, now: number): string[] {
  const pending = core.broadcasts.queue.get(info.id);
  const lines = [
    row('Broadcast', info.id),
    row('From', info.sender),
    row('Created', `${formatDateTime(info.createdAt)} (${formatClock(info.createdAt)})`),
    row('Expires', `${formatClock(info.expiresAt)}, ${formatCountdown(info.expiresAt - now)} left`),
    row('Acked', `${info.acked} of ${info.recipients} registered users`),
    row('Text', info.text),
  ];
  if (!pending) return [...lines, '', 'No longer in the queue.'];
  const delivered: string[] = [];
  const sending: string[] = [];
  const offline: string[] = [];
  for (const record of core.store.list()) {
    const name = record.username;
    if (pending.acked.has(userKey(name))) {
      const ack = log.get(info.id, name);
      delivered.push(
        ack
          ? `${name}: delivered ${formatClock(ack.at)} via ${ack.via.toUpperCase()} (${(ack.latencyMs / 1000).toFixed(2)} s)`
          : `${name}: delivered (before this dashboard kept times)`,
      );
      continue;
    }
    const found = core.presence.get(name);
    if (found && isOnline(found)) {
      const path = found.udp.state === UdpPathState.ALIVE ? 'UDP' : 'TCP';
      sending.push(`${name}: pending, online, sending via ${path}`);
    } else offline.push(`${name}: pending, offline (sent at next login)`);
  }
  for (const [title, names] of [
    ['Delivered', delivered],
    ['Pending, online', sending],
    ['Pending, offline', offline],
  ] as const) {
    lines.push('', `${title}: ${names.length}`);
    lines.push(...names.slice(0, DETAIL_MAX_NAMES).map((n) => `  ${n}`));
    if (names.length > DETAIL_MAX_NAMES) lines.push(`  ... and ${names.length - DETAIL_MAX_NAMES} more`);
  }
  return lines;
}

/** One event, every field whole (long values wrap in the view, never cut). */
export function eventDetail(record: LogRecord): string[] {
  const lines = [
    row('Time', `${formatDateTime(record.at)} ${formatClock(record.at)}`),
    row('Level', record.level),
    row('Event', record.event),
    row('Text', eventText(record.event, record.fields)),
    '',
  ];
  for (const [name, value] of Object.entries(record.fields))
    lines.push(row(name, typeof value === 'string' ? value : JSON.stringify(value)));
  return lines;
}
