/**
 * An in-process DeliveryHost for unit tests of broadcast delivery: a manual clock that drives
 * both the wall time and the delivery ticker, and stand-in sessions that record every
 * datagram and frame sent to them (decoded, with the time). Nothing is mocked: delivery runs
 * its real code against this host and a real BroadcastQueue.
 */
import { DEFAULT_BROADCAST_TTL_MS, FRAME_HEADER_BYTES } from '../../src/net/constants.ts';
import type { BroadcastItem } from '../../src/net/messages.ts';
import type { ServerEvents } from '../../src/server/events.ts';
import type { DeliveryOptions } from '../../src/server/broadcasts/delivery.ts';
import type { DeliveryHost, Ticker } from '../../src/server/broadcasts/ports.ts';
import { Broadcasts } from '../../src/server/broadcasts/service.ts';
import { MemoryBroadcastStore } from '../../src/server/broadcasts/store.ts';

/** Wall clock and monotonic clock moved together, by hand; timers fire as time passes. */
export class ManualClock implements Ticker {
  private wall: number;
  private mono = 0;
  private readonly timers = new Set<{ ms: number; fn: () => void; dueAt: number }>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.wall = start;
  }

  readonly now = (): number => this.wall;

  elapsed(): number {
    return this.mono;
  }

  every(ms: number, fn: () => void): () => void {
    const timer = { ms, fn, dueAt: this.mono + ms };
    this.timers.add(timer);
    return () => void this.timers.delete(timer);
  }

  /** Move time forward, firing each timer at every interval it passes, in time order. */
  advance(ms: number): void {
    const end = this.mono + ms;
    for (;;) {
      let next: { ms: number; fn: () => void; dueAt: number } | undefined;
      for (const t of this.timers) if (!next || t.dueAt < next.dueAt) next = t;
      if (!next || next.dueAt > end) break;
      this.move(next.dueAt - this.mono);
      next.dueAt += next.ms;
      next.fn();
    }
    this.move(end - this.mono);
  }

  /** Time passes with no timer firing (the event loop was blocked). */
  stall(ms: number): void {
    this.move(ms);
    for (const t of this.timers) while (t.dueAt <= this.mono) t.dueAt += t.ms;
  }

  private move(ms: number): void {
    this.mono += ms;
    this.wall += ms;
  }
}

export interface Sent {
  at: number;
  bid: string;
  item: BroadcastItem;
  /** A datagram's ack token (PROTOCOL.md section 5.4). */
  k?: string;
}

/** An online session as delivery sees it, recording what it was sent. */
export class FakeSession {
  udpAlive = false;
  /** The UDP path has an endpoint to send to (sendDatagram fails without one). */
  hasEndpoint = true;
  pendingOutputBytes = 0;
  closed = false;
  readonly datagrams: Sent[] = [];
  readonly frames: Sent[] = [];

  constructor(
    readonly user: string,
    private readonly clock: ManualClock,
  ) {}

  recordDatagram(payload: Buffer): void {
    const message = JSON.parse(payload.toString('utf8')) as { t: string; k?: string; b: BroadcastItem };
    if (message.t !== 'bcast') throw new Error(`unexpected datagram ${message.t}`);
    this.datagrams.push({ at: this.clock.now(), bid: message.b.bid, item: message.b, k: message.k });
  }

  recordFrame(frame: Buffer): void {
    const message = JSON.parse(frame.subarray(FRAME_HEADER_BYTES).toString('utf8')) as { t: string; b: BroadcastItem };
    if (message.t !== 'broadcast') throw new Error(`unexpected frame ${message.t}`);
    this.frames.push({ at: this.clock.now(), bid: message.b.bid, item: message.b });
  }
}

type Event = { [K in keyof ServerEvents]: { name: K; data: ServerEvents[K][0] } }[keyof ServerEvents];

export class FakeDeliveryHost implements DeliveryHost<FakeSession> {
  registered = 0;
  readonly events: Event[] = [];
  private readonly online = new Set<FakeSession>();
  private readonly onlineListeners = new Set<(s: FakeSession) => void>();
  private readonly offlineListeners = new Set<(s: FakeSession) => void>();

  constructor(readonly clock: ManualClock) {}

  readonly now = (): number => this.clock.now();

  readonly emit = <K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]): void => {
    this.events.push({ name: event, data: args[0] } as Event);
  };

  /** Events of one kind, in order. */
  eventsOf<K extends keyof ServerEvents>(name: K): ServerEvents[K][0][] {
    return this.events.filter((e) => e.name === name).map((e) => e.data as ServerEvents[K][0]);
  }

  registeredUsers(): number {
    return this.registered;
  }

  onlineSessions(): Iterable<FakeSession> {
    return this.online;
  }

  onOnline(listener: (s: FakeSession) => void): () => void {
    this.onlineListeners.add(listener);
    return () => void this.onlineListeners.delete(listener);
  }

  onOffline(listener: (s: FakeSession) => void): () => void {
    this.offlineListeners.add(listener);
    return () => void this.offlineListeners.delete(listener);
  }

  sendDatagram(session: FakeSession, payload: Buffer): boolean {
    if (!session.hasEndpoint) return false;
    session.recordDatagram(payload);
    return true;
  }

  sendFrame(session: FakeSession, frame: Buffer): void {
    session.recordFrame(frame);
  }

  pendingOutputBytes(session: FakeSession): number {
    return session.pendingOutputBytes;
  }

  udpAlive(session: FakeSession): boolean {
    return session.udpAlive;
  }

  isClosed(session: FakeSession): boolean {
    return session.closed;
  }

  /** Log a user in: a new session, announced as the server does after `welcome`. */
  login(user: string, options: { udpAlive?: boolean } = {}): FakeSession {
    const session = new FakeSession(user, this.clock);
    this.online.add(session);
    for (const listener of this.onlineListeners) listener(session);
    // A path is never alive at login (it registers after welcome): it comes up afterwards.
    session.udpAlive = options.udpAlive ?? false;
    return session;
  }

  /** The connection closed: the session is closed first, then reported offline. */
  logout(session: FakeSession): void {
    session.closed = true;
    this.online.delete(session);
    for (const listener of this.offlineListeners) listener(session);
  }
}

/** The real Broadcasts service over a FakeDeliveryHost on a ManualClock, memory store. */
export async function deliveryBed(
  options: {
    ttlMs?: number;
    registered?: number;
    rto?: DeliveryOptions['rto'];
    fanoutSlice?: number;
    releaseHeld?: () => void;
  } = {},
) {
  const clock = new ManualClock();
  const host = new FakeDeliveryHost(clock);
  host.registered = options.registered ?? 10;
  const broadcasts = new Broadcasts(host, {
    store: new MemoryBroadcastStore(),
    ticker: clock,
    ttlMs: options.ttlMs ?? DEFAULT_BROADCAST_TTL_MS,
    perMinute: 1_000,
    rto: options.rto,
    fanoutSlice: options.fanoutSlice,
    releaseHeld: options.releaseHeld,
  });
  await broadcasts.open();
  const send = async (from: FakeSession, text = 'hello everyone') => (await broadcasts.create(from, text)).item;
  return { clock, host, broadcasts, send, close: () => broadcasts.close() };
}

/** Send times relative to t0. */
export const times = (sent: { at: number }[], t0: number): number[] => sent.map((s) => s.at - t0);
