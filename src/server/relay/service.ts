/**
 * The server's relay (PROTOCOL.md section 6.6): when two clients cannot reach each other,
 * each opens a fresh TLS connection to the server and the server splices the two together.
 * The clients then run their own TLS 1.3 PSK handshake through it, so the server carries
 * ciphertext it holds no key for.
 *
 * Access is by capability, in two steps, so that every check has a user to check against:
 * 1. on `accepted`, the broker asks for one token per side (`issue`), sent in connect_result;
 * 2. a side trades its token for a ticket on its logged-in connection (`redeem`): the token
 *    must exist, belong to that request and to that user, be unspent and not late;
 * 3. the ticket opens one relay connection (`claim`, then `join` with the raw stream).
 * It takes what it needs from the server through RelayHost and nothing else.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { encodeMessage } from '../../net/codec.ts';
import { RELAY_TOKEN_BYTES } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { ServerMessage } from '../../net/messages.ts';
import { userKey } from '../users/store.ts';
import { Circuit, type CircuitClose } from './circuit.ts';
import type { RelayEvents, RelaySide } from './events.ts';
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from './limits.ts';

/** What the relay needs from its server. */
export interface RelayHost {
  now(): number;
  emit<K extends keyof RelayEvents>(event: K, ...args: RelayEvents[K]): void;
}

/** Timeouts and expiries are looked at this often. */
const SWEEP_INTERVAL_MS = 250;
/** Spent and expired tokens are remembered this many TTLs, so a late use is named as such. */
const MEMORY_TTLS = 4;

interface Party {
  user: string;
  key: string;
}

interface Half {
  stream: Duplex;
  ip: string;
  /** relay_open's id; null for another cluster node's bridge, which gets no frames. */
  re: number | null;
  joinedAt: number;
}

interface CircuitRecord {
  readonly reqId: string;
  readonly parties: { [S in RelaySide]: Party };
  readonly tokenExpiresAt: number;
  /** Counted against the limits from the first ticket until it ends. */
  counted: boolean;
  halves: { [S in RelaySide]?: Half };
  circuit: Circuit | null;
  ended: boolean;
  readonly tokenKeys: string[];
}

interface TokenEntry {
  record: CircuitRecord;
  side: RelaySide;
  spent: boolean;
}

interface TicketEntry extends TokenEntry {
  expiresAt: number;
}

export interface RelayClaim {
  readonly user: string;
  readonly side: RelaySide;
  /**
   * Hand over the raw stream (nothing read past relay_open). `re` answers relay_open's id;
   * null for a bridge from another cluster node (docs/CLUSTER.md), which is sent no frames.
   */
  join(stream: Duplex, re: number | null): void;
}

const other = (side: RelaySide): RelaySide => (side === 'requester' ? 'target' : 'requester');

export class RelayService {
  readonly limits: RelayLimits;
  /** Sees every relayed chunk of circuits spliced from now on (tests and benchmarks only). */
  tap: ((from: RelaySide, chunk: Buffer) => void) | null = null;
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly tickets = new Map<string, TicketEntry>();
  private readonly records = new Set<CircuitRecord>();
  private readonly perUser = new Map<string, number>();
  private counted = 0;
  private spliced = 0;
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(
    private readonly host: RelayHost,
    limits: Partial<RelayLimits> = {},
  ) {
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...limits };
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Spliced circuits now (the dashboard's count). */
  get circuitCount(): number {
    return this.spliced;
  }

  /** Circuits holding a ticket or a half, not yet spliced. */
  get pendingCount(): number {
    return this.counted - this.spliced;
  }

  get enabled(): boolean {
    return this.limits.maxCircuits > 0;
  }

  /** Step 1, on accept: one token per side, or null when the relay is off. */
  issue(reqId: string, requester: string, target: string): { [S in RelaySide]: string } | null {
    if (!this.enabled) return null;
    const record: CircuitRecord = {
      reqId,
      parties: {
        requester: { user: requester, key: userKey(requester) },
        target: { user: target, key: userKey(target) },
      },
      tokenExpiresAt: this.host.now() + this.limits.tokenTtlMs,
      counted: false,
      halves: {},
      circuit: null,
      ended: false,
      tokenKeys: [],
    };
    this.records.add(record);
    const out = { requester: newToken(), target: newToken() };
    record.tokenKeys.push(out.requester, out.target);
    for (const side of ['requester', 'target'] as const) this.tokens.set(out[side], { record, side, spent: false });
    return out;
  }

  /** Step 2, on the logged-in connection of `user`. Throws a ProtocolError with a relay code. */
  redeem(user: string, reqId: string, token: string): { ticket: string; expiresInMs: number } {
    const entry = this.tokens.get(token);
    const fail = (code: ErrorCode, message: string): never => {
      this.host.emit('relay_ticket', {
        user,
        peer: entry ? entry.record.parties[other(entry.side)].user : '?',
        side: entry?.side ?? 'requester',
        code,
      });
      throw new ProtocolError(code, message);
    };
    if (!entry) return fail(ErrorCode.RELAY_TOKEN_UNKNOWN, 'no such relay token');
    const { record, side } = entry;
    if (record.reqId !== reqId) return fail(ErrorCode.RELAY_TOKEN_FOREIGN, 'that relay token belongs to another chat');
    if (record.parties[side].key !== userKey(user))
      return fail(ErrorCode.RELAY_WRONG_USER, 'that relay token was issued to another user');
    if (entry.spent) return fail(ErrorCode.RELAY_TOKEN_SPENT, 'that relay token was already used');
    const now = this.host.now();
    if (now > record.tokenExpiresAt || record.ended)
      return fail(ErrorCode.RELAY_TOKEN_EXPIRED, 'that relay token has expired');
    if (!record.counted) {
      const a = record.parties.requester.key;
      const b = record.parties.target.key;
      if (this.counted >= this.limits.maxCircuits)
        return fail(ErrorCode.RELAY_FULL, `the server relays at most ${this.limits.maxCircuits} chats at once`);
      for (const key of [a, b]) {
        if ((this.perUser.get(key) ?? 0) >= this.limits.maxCircuitsPerUser) {
          return fail(
            ErrorCode.RELAY_FULL,
            `${key === a ? record.parties.requester.user : record.parties.target.user} already has ${this.limits.maxCircuitsPerUser} relayed chats`,
          );
        }
      }
      this.count(record, +1);
    }
    entry.spent = true;
    const ticket = newToken();
    this.tickets.set(ticket, { record, side, spent: false, expiresAt: now + this.limits.ticketTtlMs });
    this.host.emit('relay_ticket', {
      user: record.parties[side].user,
      peer: record.parties[other(side)].user,
      side,
      code: null,
    });
    return { ticket, expiresInMs: this.limits.ticketTtlMs };
  }

  /** Step 3, on a fresh connection: check the ticket, or throw (the caller closes it). */
  claim(ticket: string, ip: string): RelayClaim {
    const entry = this.tickets.get(ticket);
    const refuse = (code: ErrorCode, message: string): never => {
      this.host.emit('relay_refused', {
        ip,
        user: entry ? entry.record.parties[entry.side].user : null,
        code,
        reason: message,
      });
      throw new ProtocolError(code, message);
    };
    if (!entry) return refuse(ErrorCode.RELAY_TOKEN_UNKNOWN, 'no such relay ticket');
    if (entry.spent) return refuse(ErrorCode.RELAY_TOKEN_SPENT, 'that relay ticket was already used');
    if (this.host.now() > entry.expiresAt || entry.record.ended)
      return refuse(ErrorCode.RELAY_TOKEN_EXPIRED, 'that relay ticket has expired');
    entry.spent = true;
    const { record, side } = entry;
    return {
      user: record.parties[side].user,
      side,
      join: (stream, re) => this.join(record, side, { stream, ip, re, joinedAt: this.host.now() }),
    };
  }

  /** Server shutdown: cut every circuit and waiting half. */
  close(): void {
    clearInterval(this.sweepTimer);
    for (const record of [...this.records]) this.end(record, ErrorCode.SERVER_SHUTDOWN, 'the server is shutting down');
  }

  private join(record: CircuitRecord, side: RelaySide, half: Half): void {
    if (record.ended) {
      half.stream.destroy();
      return;
    }
    record.halves[side] = half;
    // Relayed chat is latency-bound: without this, Nagle holds a small record back for the
    // other side's delayed ACK (measured: 16 KiB RTT p50 44 ms instead of under 1 ms).
    (half.stream as Duplex & { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    // A half that closes while it waits frees its place.
    half.stream.on('error', () => {});
    half.stream.once('close', () => {
      if (!record.circuit && !record.ended) this.end(record, null, `the ${side} left before the other side came`);
    });
    const mate = record.halves[other(side)];
    if (!mate) return;
    const requester = record.halves.requester as Half;
    const target = record.halves.target as Half;
    for (const h of [requester, target])
      if (h.re !== null) h.stream.write(encodeMessage({ t: 'relay_ready', re: h.re } satisfies ServerMessage));
    this.spliced += 1;
    record.circuit = new Circuit(
      { stream: requester.stream, user: record.parties.requester.user, ip: requester.ip },
      { stream: target.stream, user: record.parties.target.user, ip: target.ip },
      this.limits,
      () => this.host.now(),
      (_circuit, info) => this.onCircuitClosed(record, info),
      this.tap,
    );
    this.host.emit('relay_open', {
      from: record.parties.requester.user,
      to: record.parties.target.user,
      fromIp: requester.ip,
      toIp: target.ip,
      circuits: this.spliced,
    });
  }

  private onCircuitClosed(record: CircuitRecord, info: CircuitClose): void {
    this.spliced -= 1;
    this.host.emit('relay_closed', {
      from: record.parties.requester.user,
      to: record.parties.target.user,
      up: info.up,
      down: info.down,
      durationMs: info.durationMs,
      code: info.code,
      reason: info.reason,
      circuits: this.spliced,
    });
    this.end(record, null, info.reason);
  }

  /** Forget a record's circuit and halves (its tokens stay remembered until swept). */
  private end(record: CircuitRecord, code: ErrorCode | null, reason: string): void {
    if (record.ended) return;
    record.ended = true;
    if (record.counted) this.count(record, -1);
    if (record.circuit) record.circuit.close(code ?? ErrorCode.DISCONNECTED, reason);
    else {
      for (const side of ['requester', 'target'] as const) {
        const half = record.halves[side];
        if (!half) continue;
        if (half.re === null) {
          half.stream.destroy();
          continue;
        }
        const why = code ?? ErrorCode.RELAY_PEER_ABSENT;
        half.stream.end(
          encodeMessage({ t: 'error', re: half.re, code: why, message: reason, fatal: true } satisfies ServerMessage),
        );
        setTimeout(() => half.stream.destroy(), 2_000).unref();
      }
    }
    record.halves = {};
  }

  private count(record: CircuitRecord, delta: 1 | -1): void {
    record.counted = delta > 0;
    this.counted += delta;
    for (const { key } of Object.values(record.parties)) {
      const n = (this.perUser.get(key) ?? 0) + delta;
      if (n > 0) this.perUser.set(key, n);
      else this.perUser.delete(key);
    }
  }

  private sweep(): void {
    const now = this.host.now();
    for (const record of this.records) {
      if (record.circuit && !record.ended) {
        record.circuit.check(now);
        continue;
      }
      if (!record.ended) {
        for (const side of ['requester', 'target'] as const) {
          const half = record.halves[side];
          if (half && now - half.joinedAt >= this.limits.pairTimeoutMs) {
            const absent = record.parties[other(side)].user;
            this.host.emit('relay_refused', {
              ip: half.ip,
              user: record.parties[side].user,
              code: ErrorCode.RELAY_PEER_ABSENT,
              reason: `${absent} never reached the relay`,
            });
            this.end(record, ErrorCode.RELAY_PEER_ABSENT, `${absent} never reached the relay`);
            break;
          }
        }
        // Ticketed but nobody joined in time, or never ticketed: release the place.
        if (
          !record.ended &&
          !record.halves.requester &&
          !record.halves.target &&
          now > record.tokenExpiresAt + this.limits.ticketTtlMs
        ) {
          this.end(record, null, 'unused');
        }
      }
      if (record.ended && now > record.tokenExpiresAt + MEMORY_TTLS * this.limits.tokenTtlMs) this.forget(record);
    }
    for (const [ticket, entry] of this.tickets)
      if (now > entry.expiresAt + MEMORY_TTLS * this.limits.ticketTtlMs) this.tickets.delete(ticket);
  }

  private forget(record: CircuitRecord): void {
    this.records.delete(record);
    for (const token of record.tokenKeys) this.tokens.delete(token);
  }
}

function newToken(): string {
  return randomBytes(RELAY_TOKEN_BYTES).toString('base64url');
}
