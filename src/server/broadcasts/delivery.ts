/**
 * Getting each live broadcast to each online user exactly once as far as the server can tell
 * (PROTOCOL.md section 7.2):
 *
 * - A new broadcast is serialised once (a `bcast` payload and a `broadcast` frame) and sealed
 *   per recipient with that session's key; the loop runs in slices so the event loop stays
 *   responsive while it reaches 10,000 users.
 * - Over UDP it is retransmitted after the recipient's RTO, then after the resend RTO, then
 *   twice that, until acknowledged (round-trips.ts: RFC 6298 from the round trips this server
 *   measured to that recipient, or to everyone before it has its own); after BROADCAST_UDP_TRIES
 *   unacknowledged sends or BROADCAST_UDP_DEADLINE_MS, or at once when the UDP path is not
 *   alive (never registered, or dead), it goes over the TLS connection instead, which is
 *   reliable: a TCP send is not repeated on the same connection.
 * - At login every live broadcast the user has not acknowledged is delivered again (section
 *   7.2 "late recipients"), including ones made before the user registered.
 *
 * Sends over TCP respect backpressure: what does not fit under OUTPUT_QUEUE_BYTES.SERVER_PAUSE_READ is
 * owed and sent as the connection drains, so a backlog of 1,000 broadcasts never gets a slow
 * client cut off.
 */
import {
  BROADCAST_UDP_DEADLINE_MS,
  BROADCAST_UDP_TRIES,
  MAX_BROADCASTS_IN_FLIGHT_UDP,
  OUTPUT_QUEUE_BYTES,
} from '../../net/constants.ts';
import type { ReadTokenAckEntry } from '../../net/token-ack.ts';
import { userKey } from '../users/store.ts';
import { AckTokens, copyTokenLo, matchToken, writeTokenHex } from './ack-tokens.ts';
import { realTicker, type DeliveryHost, type DeliveryPeer, type DeliveryQueue, type Ticker } from './ports.ts';
import type { PendingBroadcast } from './queue.ts';
import { encodeBroadcast, Recipient, type Encoded } from './recipient.ts';
import { DEFAULT_RTO_LIMITS, type RtoLimits } from './rto.ts';
import { RoundTrips } from './round-trips.ts';

export type { DeliveryHost, DeliveryPeer, DeliveryQueue, Ticker } from './ports.ts';
export type { BroadcastSends } from './recipient.ts';

/** How often retransmissions, TCP fallbacks and expiry are looked at. */
export const DELIVERY_TICK_MS = 50;
/**
 * Recipients served in the first turn of a fan-out and in each turn after it (about 20 ms of
 * work); acks read between turns (libuv reads at most 32 a turn) are held until the last.
 * Turns of 32 after the first, to read acks as fast as they come, made the time to the last
 * of 10,000 recipients 2.4x longer (docs/BENCHMARKS.md, issue 15, session 4).
 */
export const FANOUT_FIRST_SLICE = 1024;
export const FANOUT_SLICE = 1024;
/**
 * Ticks in a row that may skip retransmissions while a fan-out is sending (its acks are held
 * until it is done, so what looks due may be acknowledged already). Then the held input is
 * handled first: back-to-back fan-outs cannot hold retransmissions back for longer.
 */
export const MAX_TICKS_SKIPPED_FOR_FANOUT = 10;
/**
 * Retransmissions and TCP sends one tick may make; the rest wait for the next tick, by when
 * their acks may have been read. Bounds what a late ack burst can make the server resend.
 */
export const MAX_SENDS_PER_TICK = 1024;

export interface DeliveryOptions {
  /** RTO before any round trip was measured, its floor and ceiling (rto.ts). */
  rto?: Partial<Omit<RtoLimits, 'granularityMs'>>;
  udpTries?: number;
  udpDeadlineMs?: number;
  maxUdpInFlight?: number;
  tickMs?: number;
  /** Recipients per turn after the first; the first turn's too unless fanoutFirstSlice says. */
  fanoutSlice?: number;
  fanoutFirstSlice?: number;
  ticker?: Ticker;
  /**
   * Handle the input held while fan-outs were sending (the server's UDP endpoint holds acks
   * then): called when the last fan-out in progress has made its last send, and before a
   * tick retransmits during one.
   */
  releaseHeld?: () => void;
}

export interface DeliveryStats {
  fanouts: number;
  /** First sends over UDP. */
  udpSent: number;
  retransmits: number;
  /** Sends over TCP: paths that were not alive, fallbacks and login backlogs. */
  tcpSent: number;
  /** Of tcpSent: broadcasts that went unacknowledged over UDP first. */
  tcpFallbacks: number;
  acks: number;
  lastFanoutMs: number;
}

export class BroadcastDelivery<S extends DeliveryPeer> {
  readonly stats: DeliveryStats = {
    fanouts: 0,
    udpSent: 0,
    retransmits: 0,
    tcpSent: 0,
    tcpFallbacks: 0,
    acks: 0,
    lastFanoutMs: 0,
  };
  private readonly recipients = new Map<S, Recipient<S>>();
  /** Recipients with UDP sends in flight or TCP sends owed: the ones a tick looks at. */
  private readonly active = new Set<Recipient<S>>();
  private readonly encoded = new Map<string, Encoded>();
  /** Broadcasts every registered user has acknowledged (reported once). */
  private readonly complete = new Set<string>();
  private readonly rtoLimits: RtoLimits;
  private readonly roundTrips: RoundTrips;
  private readonly udpTries: number;
  private readonly udpDeadlineMs: number;
  private readonly maxUdpInFlight: number;
  private readonly tickMs: number;
  private readonly slice: number;
  private readonly firstSlice: number;
  private readonly ticker: Ticker;
  private readonly tokens = new AckTokens();
  /** Undoes start(): the tick timer and the online/offline subscriptions. */
  private unsubscribe: (() => void)[] = [];
  private lastTickAt = 0;
  private skippedLastTick = false;
  private ticksSkippedForFanout = 0;
  /** Fan-outs that have not made their last send yet. */
  private sending = 0;
  private readonly releaseHeld: () => void;
  private running = false;

  constructor(
    private readonly host: DeliveryHost<S>,
    private readonly queue: DeliveryQueue,
    options: DeliveryOptions = {},
  ) {
    this.udpTries = options.udpTries ?? BROADCAST_UDP_TRIES;
    this.udpDeadlineMs = options.udpDeadlineMs ?? BROADCAST_UDP_DEADLINE_MS;
    this.maxUdpInFlight = options.maxUdpInFlight ?? MAX_BROADCASTS_IN_FLIGHT_UDP;
    this.tickMs = options.tickMs ?? DELIVERY_TICK_MS;
    this.rtoLimits = { ...DEFAULT_RTO_LIMITS, ...options.rto, granularityMs: this.tickMs };
    this.roundTrips = new RoundTrips(this.rtoLimits);
    this.slice = options.fanoutSlice ?? FANOUT_SLICE;
    this.firstSlice = options.fanoutFirstSlice ?? options.fanoutSlice ?? FANOUT_FIRST_SLICE;
    this.ticker = options.ticker ?? realTicker;
    this.releaseHeld = options.releaseHeld ?? (() => {});
  }

  /** A fan-out is sending: input that can wait (acks) is best held until it is done. */
  get fanningOut(): boolean {
    return this.sending > 0;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = [
      this.host.onOnline((session) => this.login(session)),
      this.host.onOffline((session) => this.logout(session)),
    ];
    // Sessions that came online before start (none in practice: the queue opens before listening).
    for (const session of this.host.onlineSessions()) this.login(session);
    this.unsubscribe.push(this.ticker.every(this.tickMs, () => this.tick()));
  }

  stop(): void {
    this.running = false;
    for (const undo of this.unsubscribe) undo();
    this.unsubscribe = [];
    this.recipients.clear();
    this.active.clear();
  }

  /** The RTO a recipient's next first send waits for (its own estimate, else everyone's). */
  rtoOf(session: S): number {
    const r = this.recipients.get(session);
    return this.roundTrips.rtoFor(r);
  }

  /** Online sessions that still wait for an ack or a TCP send, for the dashboard. */
  get busyRecipients(): number {
    return this.active.size;
  }

  /** Send a new broadcast to every online user (section 7.2), in slices. */
  fanOut(pending: PendingBroadcast): void {
    if (!this.running) return;
    const bid = pending.item.bid;
    const started = process.hrtime.bigint();
    const targets = [...this.recipients.values()];
    const enc = this.encode(pending);
    const counts = { udp: 0, tcp: 0, rtoSum: 0 };
    const acksBefore = this.stats.acks;
    let cpuMicros = 0;
    let i = 0;
    this.sending += 1;
    const step = () => {
      if (!this.running || !this.queue.get(bid)) {
        this.sending -= 1;
        if (this.sending === 0) this.releaseHeld();
        return;
      }
      const cpuBefore = process.cpuUsage();
      const end = Math.min(i + (i === 0 ? this.firstSlice : this.slice), targets.length);
      for (; i < end; i++) {
        const r = targets[i];
        if (r === undefined) continue; // never: i < end <= targets.length
        if (this.host.isClosed(r.session) || pending.acked.has(r.key) || r.has(bid)) continue;
        // The clock per send, not per slice: a slice takes 10-100 ms, which would otherwise
        // count in the round trip of its last recipients and inflate their RTO.
        if (this.deliver(r, pending, enc, this.host.now()) === 'udp') {
          counts.udp += 1;
          counts.rtoSum += this.roundTrips.rtoFor(r);
        } else counts.tcp += 1;
      }
      // Nothing is read from a socket between here and the sends dgram makes on the next tick.
      const last = i >= targets.length;
      if (last) this.sending -= 1;
      // dgram resolves the address on process.nextTick and sends there: account after those.
      process.nextTick(() => {
        const cpu = process.cpuUsage(cpuBefore);
        cpuMicros += cpu.user + cpu.system;
        if (!last) {
          setImmediate(step);
          return;
        }
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const acksDuring = this.stats.acks - acksBefore;
        // After the last sends went out: the acks held meanwhile can be handled now.
        if (this.sending === 0) this.releaseHeld();
        this.stats.fanouts += 1;
        this.stats.lastFanoutMs = ms;
        this.host.emit('broadcast_fanout', {
          bid,
          recipients: counts.udp + counts.tcp,
          udp: counts.udp,
          tcp: counts.tcp,
          ms: Math.round(ms * 100) / 100,
          cpuMs: Math.round(cpuMicros / 10) / 100,
          rtoMs: counts.udp === 0 ? 0 : Math.round(counts.rtoSum / counts.udp),
          // Acks of this and earlier broadcasts handled between the first send and the last.
          acksDuring,
        });
      });
    };
    step();
  }

  /** Acknowledgements from a client, over either path (section 7.2), read at `now`. */
  ack(session: S, bids: readonly string[], now = this.host.now()): void {
    const r = this.recipients.get(session);
    const user = session.user;
    for (const bid of bids) {
      const flight = r?.udp.get(bid);
      if (r && flight) this.roundTrips.sample(r, flight, now);
      r?.forget(bid);
      const pending = this.queue.get(bid);
      if (!pending || !this.queue.ack(bid, user)) continue;
      this.stats.acks += 1;
      this.reportIfDelivered(bid, pending);
    }
  }

  /** Acks counted elsewhere (another node of a cluster): report what they completed. */
  checkDelivered(bids: readonly string[]): void {
    for (const bid of bids) {
      const pending = this.queue.get(bid);
      if (pending) this.reportIfDelivered(bid, pending);
    }
  }

  /** `broadcast_delivered`, once, when every registered user has acked. */
  private reportIfDelivered(bid: string, pending: PendingBroadcast): void {
    const registered = this.host.registeredUsers();
    if (this.complete.has(bid) || pending.acked.size < registered) return;
    this.complete.add(bid);
    const sends = { ...this.encode(pending).sends };
    this.host.emit('broadcast_delivered', { bid, acked: pending.acked.size, registered, ...sends });
  }

  /** Drop everything about broadcasts that left the queue. */
  forgetBroadcasts(bids: readonly string[]): void {
    for (const bid of bids) {
      this.encoded.delete(bid);
      this.complete.delete(bid);
    }
    for (const r of this.recipients.values()) for (const bid of bids) r.forget(bid);
  }

  /** Stop every send and retransmission to `user`'s sessions (its account is gone). */
  dropUser(user: string): void {
    const key = userKey(user);
    for (const [session, r] of this.recipients) {
      if (r.key !== key) continue;
      this.recipients.delete(session);
      this.active.delete(r);
    }
  }

  /** A user came online: deliver every live broadcast it has not acknowledged, oldest first. */
  private login(session: S): void {
    if (!this.running) return;
    const r = new Recipient(session);
    this.recipients.set(session, r);
    const now = this.host.now();
    for (const pending of this.queue.live()) {
      if (pending.acked.has(r.key)) continue;
      this.deliver(r, pending, this.encode(pending), now);
    }
  }

  private logout(session: S): void {
    const r = this.recipients.get(session);
    if (!r) return;
    this.recipients.delete(session);
    this.active.delete(r);
  }

  private deliver(r: Recipient<S>, pending: PendingBroadcast, enc: Encoded, now: number): 'udp' | 'tcp' {
    const bid = pending.item.bid;
    if (enc.udp && this.host.udpAlive(r.session) && r.udp.size < this.maxUdpInFlight) {
      const tokens = this.tokens;
      tokens.next();
      if (this.sendCopy(r, enc.udp, enc.tokenAt, tokens.hi, tokens.lo)) {
        const wait = this.roundTrips.rtoFor(r);
        r.udp.set(bid, {
          tries: 1,
          rto: wait,
          wait,
          firstAt: now,
          lastAt: now,
          nextAt: now + wait,
          tokenHi: tokens.hi,
          tokenLo: tokens.lo,
          ackedCopy: 0,
        });
        this.active.add(r);
        this.stats.udpSent += 1;
        enc.sends.datagrams += 1;
        return 'udp';
      }
    }
    this.sendTcp(r, bid, enc);
    return 'tcp';
  }

  /** Send over the TLS connection now, or owe it if the connection is backed up (section 3.3). */
  private sendTcp(r: Recipient<S>, bid: string, enc: Encoded): boolean {
    if (this.host.pendingOutputBytes(r.session) + enc.tcp.length > OUTPUT_QUEUE_BYTES.SERVER_PAUSE_READ) {
      r.owed.add(bid);
      this.active.add(r);
      return false;
    }
    r.owed.delete(bid);
    r.tcp.add(bid);
    this.host.sendFrame(r.session, enc.tcp);
    this.stats.tcpSent += 1;
    enc.sends.frames += 1;
    return true;
  }

  /** One look at retransmissions, TCP sends owed and expiry; runs every tickMs once started. */
  tick(): void {
    const expired = this.queue.expire();
    if (expired.length > 0) {
      const registered = this.host.registeredUsers();
      for (const pending of expired) {
        const { item, acked } = pending;
        const sends = { ...this.encode(pending).sends };
        this.host.emit('broadcast_expired', {
          bid: item.bid,
          from: item.from,
          acked: acked.size,
          registered,
          ...sends,
        });
      }
      this.forgetBroadcasts(expired.map((p) => p.item.bid));
    }
    // A tick that comes late means the server is behind on its input (its CPU is starved or
    // the loop was blocked), and unread acks may be waiting in the socket: resending now
    // would only bring more of them. Skip it, but never two in a row, so a server that is
    // always behind still retransmits and falls back, at half the pace.
    const at = this.ticker.elapsed();
    const late = this.lastTickAt > 0 && at - this.lastTickAt > 2 * this.tickMs;
    this.lastTickAt = at;
    if (late && !this.skippedLastTick) {
      this.skippedLastTick = true;
      return;
    }
    this.skippedLastTick = false;
    // During a fan-out its acks are held unread: wait for them, a few ticks at most.
    if (this.sending > 0) {
      if (this.ticksSkippedForFanout < MAX_TICKS_SKIPPED_FOR_FANOUT) {
        this.ticksSkippedForFanout += 1;
        return;
      }
      this.releaseHeld();
    }
    this.ticksSkippedForFanout = 0;
    const now = this.host.now();
    let budget = MAX_SENDS_PER_TICK;
    for (const r of this.active) {
      if (budget <= 0) break;
      if (this.host.isClosed(r.session)) {
        this.active.delete(r);
        continue;
      }
      budget -= this.retransmit(r, now, budget);
      for (const bid of r.owed) {
        if (budget <= 0) break;
        const pending = this.queue.get(bid);
        if (!pending) r.owed.delete(bid);
        else if (!this.sendTcp(r, bid, this.encode(pending))) break;
        else budget -= 1;
      }
      if (r.idle) this.active.delete(r);
    }
  }

  /** Resend what is due for one recipient, at most `budget` sends; returns how many it made. */
  private retransmit(r: Recipient<S>, now: number, budget: number): number {
    const alive = this.host.udpAlive(r.session);
    let sends = 0;
    for (const [bid, flight] of r.udp) {
      if (sends >= budget) break;
      if (flight.nextAt > now) continue;
      const pending = this.queue.get(bid);
      if (!pending) {
        r.udp.delete(bid);
        continue;
      }
      sends += 1;
      const enc = this.encode(pending);
      const beforeDeadline = now - flight.firstAt < this.udpDeadlineMs;
      if (
        alive &&
        flight.tries < this.udpTries &&
        beforeDeadline &&
        enc.udp &&
        this.sendCopy(r, enc.udp, enc.tokenAt, flight.tokenHi, copyTokenLo(flight, flight.tries + 1))
      ) {
        this.roundTrips.resent(r, flight, now);
        flight.nextAt = Math.min(now + flight.wait, flight.firstAt + this.udpDeadlineMs);
        this.stats.retransmits += 1;
        enc.sends.datagrams += 1;
        continue;
      }
      r.udp.delete(bid);
      this.stats.tcpFallbacks += 1;
      this.sendTcp(r, bid, enc);
    }
    return sends;
  }

  /** One `bcast` copy with its ack token written in (section 5.4). */
  private sendCopy(r: Recipient<S>, payload: Buffer, tokenAt: number, hi: number, lo: number): boolean {
    writeTokenHex(payload, tokenAt, hi, lo);
    return this.host.sendDatagram(r.session, payload);
  }

  /**
   * Token acks (section 5.4): the ids whose token matches a copy sent to this session, and
   * how many entries named a broadcast in flight with another token (forged). An entry for a copy
   * no longer in flight (acked already, or gone by TCP) is neither: a duplicate's ack.
   */
  acceptAckTokens(session: S, entries: readonly ReadTokenAckEntry[]): { bids: string[]; forged: number } {
    const r = this.recipients.get(session);
    const bids: string[] = [];
    let forged = 0;
    if (!r) return { bids, forged };
    for (const entry of entries) {
      const flight = r.udp.get(entry.bid);
      if (!flight) continue;
      if (matchToken(flight, entry)) bids.push(entry.bid);
      else forged += 1;
    }
    return { bids, forged };
  }

  private encode(pending: PendingBroadcast): Encoded {
    const bid = pending.item.bid;
    let enc = this.encoded.get(bid);
    if (!enc) this.encoded.set(bid, (enc = encodeBroadcast(pending)));
    return enc;
  }
}
