/**
 * Admission of control connections before login (PROTOCOL.md section 3.6): who may hold a
 * connection that has not logged in yet, and for how long.
 *
 * A connection costs a descriptor and TLS state from the moment it is accepted, but proves
 * nothing until it logs in; an attacker can open them from one address far faster than they
 * time out. An outside test held ~1,030 connections from one IP that never finished TLS and
 * so filled the global cap: every other user was turned away. Three rules keep the door open:
 *  - per address: at most MAX_UNAUTHENTICATED_PER_IP connections not logged in yet (TLS
 *    handshake or waiting for login); beyond, a new one is closed at once;
 *  - fairness: when the global cap is reached, a new connection from an address with fewer
 *    such connections evicts the oldest one of the address holding the most, so no address
 *    or set of addresses can keep a newcomer out;
 *  - pressure: above half the global cap, a connection not logged in within
 *    PRESSURE_LOGIN_DEADLINE_MS is closed (instead of the 10 s handshake / 30 s login limits).
 * This module knows nothing of sockets: listen.ts gives each connection a close callback.
 */
import { normalizeIp } from '../net/address.ts';
import type { Clock } from './rate-limit.ts';

/** Connections not logged in yet, from all addresses together. */
export const MAX_UNAUTHENTICATED_CONNECTIONS = 1024;
/**
 * Connections not logged in yet from one address. Users behind one NAT log in within a
 * second of connecting, but all of them reconnect at once after a server restart: a quarter
 * of the global cap lets a few hundred in together, and still leaves three quarters to
 * everyone else. Beyond it they retry with their back-off.
 */
export const MAX_UNAUTHENTICATED_PER_IP = 256;
/** Above this share of MAX_UNAUTHENTICATED_CONNECTIONS the server is under pressure. */
export const PRESSURE_FRACTION = 0.5;
/** Under pressure, TLS plus login must be done within this (a real client needs ~100 ms). */
export const PRESSURE_LOGIN_DEADLINE_MS = 3_000;
const SWEEP_INTERVAL_MS = 250;

export interface AdmissionLimits {
  total: number;
  perIp: number;
  pressureDeadlineMs: number;
}

/** Why a connection was closed before login; listen.ts reports it as `handshake_failed`. */
export type EvictionReason = 'per-address cap' | 'evicted for fairness' | 'deadline under pressure' | 'server full';

export interface Ticket {
  readonly ip: string;
  readonly since: number;
  /** Logged in, or gone: the slot is free. Idempotent. */
  release(): void;
}

interface Entry extends Ticket {
  close(reason: EvictionReason): void;
  released: boolean;
}

export class Admission {
  /** Per address (normalized), the connections not logged in yet, oldest first. */
  private readonly byIp = new Map<string, Set<Entry>>();
  private count = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly limits: AdmissionLimits,
    private readonly now: Clock = Date.now,
    private readonly onRefuse: (ip: string, reason: EvictionReason) => void = () => {},
  ) {
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  get size(): number {
    return this.count;
  }

  get underPressure(): boolean {
    return this.count > this.limits.total * PRESSURE_FRACTION;
  }

  pendingFrom(address: string): number {
    return this.byIp.get(groupKey(address))?.size ?? 0;
  }

  /**
   * A new connection: its ticket, or null when it must be closed at once (the caller does,
   * `close` is not called). `close` is how admission closes it later (eviction, deadline).
   */
  admit(address: string, close: (reason: EvictionReason) => void): Ticket | null {
    const ip = groupKey(address);
    const mine = this.byIp.get(ip)?.size ?? 0;
    if (mine >= this.limits.perIp) return this.refuse(ip, 'per-address cap');
    if (this.count >= this.limits.total && !this.evictFor(mine)) return this.refuse(ip, 'server full');
    const entry: Entry = {
      ip,
      since: this.now(),
      released: false,
      close,
      release: () => this.release(entry),
    };
    let set = this.byIp.get(ip);
    if (!set) this.byIp.set(ip, (set = new Set()));
    set.add(entry);
    this.count += 1;
    return entry;
  }

  /** Stop the deadline sweep (shutdown); closing the connections is the caller's. */
  stop(): void {
    clearInterval(this.timer);
  }

  private refuse(ip: string, reason: EvictionReason): null {
    this.onRefuse(ip, reason);
    return null;
  }

  /** Make room for a newcomer whose address holds `mine`: only an address holding more yields. */
  private evictFor(mine: number): boolean {
    let heaviest: Set<Entry> | undefined;
    for (const set of this.byIp.values()) if (!heaviest || set.size > heaviest.size) heaviest = set;
    if (!heaviest || heaviest.size <= mine + 1) return false;
    const oldest = heaviest.values().next().value as Entry;
    this.drop(oldest, 'evicted for fairness');
    return true;
  }

  private drop(entry: Entry, reason: EvictionReason): void {
    this.release(entry);
    this.onRefuse(entry.ip, reason);
    entry.close(reason);
  }

  private release(entry: Entry): void {
    if (entry.released) return;
    entry.released = true;
    const set = this.byIp.get(entry.ip);
    if (!set?.delete(entry)) return;
    this.count -= 1;
    if (set.size === 0) this.byIp.delete(entry.ip);
  }

  private sweep(): void {
    if (!this.underPressure) return;
    const cutoff = this.now() - this.limits.pressureDeadlineMs;
    for (const set of [...this.byIp.values()]) {
      // Oldest first: stop at the first one still within its deadline.
      for (const entry of [...set]) {
        if (entry.since > cutoff) break;
        this.drop(entry, 'deadline under pressure');
      }
    }
  }
}

/**
 * The unit an address cap applies to: an IPv4 address, or an IPv6 /64 (one host usually
 * has a whole /64 to pick source addresses from).
 */
export function groupKey(address: string): string {
  const ip = normalizeIp(address);
  if (!ip.includes(':')) return ip;
  const [head, tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
