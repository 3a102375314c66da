/**
 * The client's broadcast inbox (PROTOCOL.md section 7), attached to a P2PClient: sends
 * broadcasts, receives them over UDP (`bcast`) or TCP (`broadcast`), acknowledges each by id
 * on the path it came by, and shows each exactly once per user, even when the server sends it
 * again (a lost ack, a retransmission racing an ack, a reconnect, a server restart).
 *
 * Acks go at the end of the event-loop turn the copies arrived in, one datagram (or frame)
 * for all of them (section 7.2): the server times its retransmissions from the round trip it
 * measures, so an ack held back would only make them later.
 *
 * Text handed out is sanitised for a terminal (section 6.5 rules); the server relays it as sent.
 */
import { EventEmitter } from 'eventemitter3';
import { MAX_BROADCAST_ACK_IDS_TCP, MAX_BROADCAST_ACK_IDS_UDP, MAX_PENDING_BROADCASTS } from '../net/constants.ts';
import { ErrorCode, ProtocolError } from '../net/errors.ts';
import type { BroadcastItem, ServerMessage, UdpServerMessage } from '../net/messages.ts';
import { sanitizeText } from '../net/sanitize.ts';
import { userKey } from '../net/names.ts';
import { broadcastTextTooLarge } from '../net/text-limits.ts';
import { tokenAckable, type TokenAckEntry } from '../net/token-ack.ts';
import type { P2PClient, Session } from './client.ts';

/** Broadcasts kept for display; older ones fall off (a bounded scrollback). */
export const MAX_INBOX_ITEMS = 500;
/** Ids remembered to drop duplicates: more than a server can have live at once. */
export const MAX_REMEMBERED_BIDS = 4 * MAX_PENDING_BROADCASTS;
/**
 * An id is forgotten this long after its broadcast expired: a server never sends an expired
 * broadcast, and this covers any skew between its clock and ours.
 */
export const REMEMBER_AFTER_EXPIRY_MS = 60 * 60_000;

export type DeliveryPath = 'udp' | 'tcp';

export interface InboxItem {
  bid: string;
  from: string;
  /** Safe to print: escape sequences and control characters removed. */
  text: string;
  createdAt: number;
  expiresAt: number;
  receivedAt: number;
  via: DeliveryPath;
}

export interface SentBroadcast {
  bid: string;
  createdAt: number;
  expiresAt: number;
}

export interface InboxStats {
  /** Distinct broadcasts shown. */
  received: number;
  /** Copies dropped because the id was seen before (still acknowledged). */
  duplicates: number;
  viaUdp: number;
  viaTcp: number;
  acksSent: number;
}

export interface InboxEvents {
  broadcast: [InboxItem];
  duplicate: [{ bid: string; via: DeliveryPath }];
}

export interface InboxOptions {
  maxItems?: number;
  /**
   * Hold UDP acks a random 0..this (ms) instead of sending them at the end of the turn: a
   * client that delays its acks, as version-1 clients did (tests of the server's RTO).
   */
  ackDelayMaxMs?: number;
  now?: () => number;
}

export class BroadcastInbox extends EventEmitter<InboxEvents> {
  readonly stats: InboxStats = { received: 0, duplicates: 0, viaUdp: 0, viaTcp: 0, acksSent: 0 };
  private readonly list: InboxItem[] = [];
  /** bid -> expiresAt, in arrival order. */
  private readonly seen = new Map<string, number>();
  /** bid -> the copy's ack token (section 5.4), or null from a server that sends none. */
  private readonly udpAcks = new Map<string, string | null>();
  private readonly tcpAcks = new Set<string>();
  /** Cancels the pending UDP ack flush; null when none is scheduled. */
  private cancelUdpAck: (() => void) | null = null;
  private tcpAckScheduled = false;
  private user: string | null;
  private readonly maxItems: number;
  private readonly ackDelayMaxMs: number;
  private readonly now: () => number;
  private closed = false;

  private readonly onUdp = (message: UdpServerMessage) => {
    if (message.t === 'bcast') this.receive(message.b, 'udp', message.k);
  };
  private readonly onTcp = (message: ServerMessage) => {
    if (message.t === 'broadcast') this.receive(message.b, 'tcp');
  };
  private readonly onOnline = (session: Session) => {
    // Another account on the same client: its inbox is not this one's.
    if (this.user !== null && userKey(session.user) !== this.user) this.reset();
    this.user = userKey(session.user);
  };

  constructor(
    private readonly client: P2PClient,
    options: InboxOptions = {},
  ) {
    super();
    this.maxItems = options.maxItems ?? MAX_INBOX_ITEMS;
    this.ackDelayMaxMs = options.ackDelayMaxMs ?? 0;
    this.now = options.now ?? Date.now;
    this.user = client.session ? userKey(client.session.user) : null;
    client.on('udpMessage', this.onUdp);
    client.on('message', this.onTcp);
    client.on('online', this.onOnline);
  }

  /** Shown broadcasts, oldest first. */
  get items(): readonly InboxItem[] {
    return this.list;
  }

  has(bid: string): boolean {
    return this.seen.has(bid);
  }

  /**
   * Broadcast `text` to every registered user (section 7.1). Resolves once the server has it
   * durably; rejects with E_BROADCAST_TOO_LARGE, E_RATE_LIMITED (see retryAfterMs),
   * E_QUEUE_FULL, E_STORAGE or E_DISCONNECTED. Our own copy arrives like everyone's.
   */
  async send(text: string): Promise<SentBroadcast> {
    if (text === '') throw new ProtocolError(ErrorCode.BAD_MESSAGE, 'a broadcast needs some text');
    const tooLarge = broadcastTextTooLarge(text);
    if (tooLarge) throw tooLarge;
    const reply = await this.client.request({ t: 'broadcast', text });
    if (reply.t !== 'broadcast_ok')
      throw new ProtocolError(ErrorCode.BAD_MESSAGE, `expected broadcast_ok, got ${reply.t}`);
    return { bid: reply.bid, createdAt: reply.createdAt, expiresAt: reply.expiresAt };
  }

  /** Send any acks still waiting and stop listening. */
  close(): void {
    if (this.closed) return;
    this.flushUdpAcks();
    this.flushTcpAcks();
    this.closed = true;
    this.client.off('udpMessage', this.onUdp);
    this.client.off('message', this.onTcp);
    this.client.off('online', this.onOnline);
    this.removeAllListeners();
  }

  private receive(b: BroadcastItem, via: DeliveryPath, token?: string): void {
    if (this.closed) return;
    // Always acknowledge, duplicates too: the server resends until it hears an ack.
    this.queueAck(b.bid, via, token);
    if (this.seen.has(b.bid)) {
      this.stats.duplicates += 1;
      this.emit('duplicate', { bid: b.bid, via });
      return;
    }
    this.remember(b.bid, b.expiresAt);
    const item: InboxItem = {
      bid: b.bid,
      from: b.from,
      text: sanitizeText(b.text),
      createdAt: b.createdAt,
      expiresAt: b.expiresAt,
      receivedAt: this.now(),
      via,
    };
    this.list.push(item);
    if (this.list.length > this.maxItems) this.list.splice(0, this.list.length - this.maxItems);
    this.stats.received += 1;
    if (via === 'udp') this.stats.viaUdp += 1;
    else this.stats.viaTcp += 1;
    this.emit('broadcast', item);
  }

  private remember(bid: string, expiresAt: number): void {
    this.seen.set(bid, expiresAt);
    if (this.seen.size <= MAX_REMEMBERED_BIDS) return;
    const cutoff = this.now() - REMEMBER_AFTER_EXPIRY_MS;
    for (const [old, expires] of this.seen) if (expires < cutoff) this.seen.delete(old);
    // Still over: forget the oldest arrivals (a hostile server could only make us show its own repeats).
    for (const old of this.seen.keys()) {
      if (this.seen.size <= MAX_REMEMBERED_BIDS) break;
      this.seen.delete(old);
    }
  }

  private queueAck(bid: string, via: DeliveryPath, token: string | undefined): void {
    if (via === 'udp') {
      this.udpAcks.set(bid, tokenAckable(bid, token) ? token : null);
      if (this.udpAcks.size >= MAX_BROADCAST_ACK_IDS_UDP) this.flushUdpAcks();
      else if (!this.cancelUdpAck) this.cancelUdpAck = this.scheduleUdpAcks();
      return;
    }
    this.tcpAcks.add(bid);
    if (!this.tcpAckScheduled) {
      this.tcpAckScheduled = true;
      setImmediate(() => this.flushTcpAcks());
    }
  }

  private scheduleUdpAcks(): () => void {
    if (this.ackDelayMaxMs > 0) {
      const timer = setTimeout(() => this.flushUdpAcks(), Math.random() * this.ackDelayMaxMs);
      timer.unref();
      return () => clearTimeout(timer);
    }
    const immediate = setImmediate(() => this.flushUdpAcks());
    return () => clearImmediate(immediate);
  }

  /** Copies that came with a token are acked by it (section 5.4), the rest by a sealed `bcast_ack`. */
  private flushUdpAcks(): void {
    this.cancelUdpAck?.();
    this.cancelUdpAck = null;
    const byToken: TokenAckEntry[] = [];
    const sealed: string[] = [];
    for (const [bid, k] of this.udpAcks) {
      if (k === null) sealed.push(bid);
      else byToken.push({ bid, k });
    }
    this.udpAcks.clear();
    for (let i = 0; i < byToken.length; i += MAX_BROADCAST_ACK_IDS_UDP) {
      const chunk = byToken.slice(i, i + MAX_BROADCAST_ACK_IDS_UDP);
      if (this.client.sendUdpTokenAck(chunk)) this.stats.acksSent += chunk.length;
      else for (const { bid } of chunk) this.tcpAcks.add(bid); // path gone meanwhile: ack over TCP
    }
    for (let i = 0; i < sealed.length; i += MAX_BROADCAST_ACK_IDS_UDP) {
      const chunk = sealed.slice(i, i + MAX_BROADCAST_ACK_IDS_UDP);
      if (this.client.sendUdp({ t: 'bcast_ack', bids: chunk })) this.stats.acksSent += chunk.length;
      else for (const bid of chunk) this.tcpAcks.add(bid);
    }
    if (this.tcpAcks.size > 0) this.flushTcpAcks();
  }

  private flushTcpAcks(): void {
    this.tcpAckScheduled = false;
    const bids = [...this.tcpAcks];
    this.tcpAcks.clear();
    for (let i = 0; i < bids.length; i += MAX_BROADCAST_ACK_IDS_TCP) {
      const chunk = bids.slice(i, i + MAX_BROADCAST_ACK_IDS_TCP);
      // Offline: nothing to do; the server delivers again at the next login and we ack then.
      if (this.client.send({ t: 'broadcast_ack', bids: chunk })) this.stats.acksSent += chunk.length;
    }
  }

  private reset(): void {
    this.list.length = 0;
    this.seen.clear();
    this.udpAcks.clear();
    this.tcpAcks.clear();
  }
}
