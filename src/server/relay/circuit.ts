/**
 * One spliced relay circuit (PROTOCOL.md section 6.6): bytes from each side go to the other
 * unchanged. The server cannot read them (they are the two clients' own TLS-PSK session) and
 * does not try to: it only counts, paces and bounds them.
 *
 * Each direction is a Pump: a sender over its byte rate is paused until its allowance refills
 * (its cap holds; others are not slowed, there is no shared queue); a receiver that has more
 * than `bufferBytes` unwritten pauses its sender (backpressure, so the server holds at most
 * that much per direction); a receiver that takes nothing for `stallTimeoutMs` is cut as a
 * slow consumer by the service's sweep.
 */
import type { Duplex } from 'node:stream';
import { ErrorCode } from '../../net/errors.ts';
import type { RelayLimits } from './limits.ts';
import type { RelaySide } from './events.ts';

/** After a graceful end, a side that does not finish closing is destroyed after this. */
const END_GRACE_MS = 2_000;

export interface CircuitEnd {
  stream: Duplex;
  user: string;
  ip: string;
}

export interface CircuitClose {
  code: ErrorCode | null;
  reason: string;
  up: number;
  down: number;
  durationMs: number;
}

type Limits = Pick<RelayLimits, 'bytesPerSecond' | 'bufferBytes' | 'stallTimeoutMs' | 'idleTimeoutMs'>;

class Pump {
  bytes = 0;
  /** When the receiver last made progress while we wait for it (null: not waiting). */
  stalledSince: number | null = null;
  private unwritten = 0;
  private throttled: NodeJS.Timeout | null = null;
  private full = false;
  private tokens: number;
  private tokensAt: number;

  constructor(
    private readonly src: Duplex,
    private readonly dst: Duplex,
    private readonly limits: Limits,
    private readonly now: () => number,
    private readonly onActivity: (chunk: Buffer) => void,
  ) {
    this.tokens = limits.bytesPerSecond;
    this.tokensAt = now();
    src.on('data', (chunk: Buffer) => this.onData(chunk));
    src.on('end', () => dst.end());
  }

  start(): void {
    this.src.resume();
  }

  stop(): void {
    if (this.throttled) clearTimeout(this.throttled);
    this.throttled = null;
  }

  private onData(chunk: Buffer): void {
    const n = chunk.length;
    this.bytes += n;
    this.onActivity(chunk);
    this.unwritten += n;
    this.dst.write(chunk, () => {
      this.unwritten -= n;
      if (!this.full) return;
      this.stalledSince = this.now(); // progress: the receiver is reading, if slowly
      if (this.unwritten <= this.limits.bufferBytes / 2) {
        this.full = false;
        this.stalledSince = null;
        this.maybeResume();
      }
    });
    if (this.unwritten > this.limits.bufferBytes && !this.full) {
      this.full = true;
      this.stalledSince = this.now();
      this.src.pause();
    }
    // Token bucket, allowed to go negative by one chunk: the pause then pays the debt back.
    const now = this.now();
    const rate = this.limits.bytesPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) * rate) / 1000) - n;
    this.tokensAt = now;
    if (this.tokens < 0 && !this.throttled) {
      this.src.pause();
      this.throttled = setTimeout(
        () => {
          this.throttled = null;
          this.maybeResume();
        },
        Math.ceil((-this.tokens * 1000) / rate),
      );
    }
  }

  private maybeResume(): void {
    if (!this.full && !this.throttled && !this.src.destroyed) this.src.resume();
  }
}

export class Circuit {
  readonly startedAt: number;
  lastActivityAt: number;
  private closed = false;
  private readonly up: Pump;
  private readonly down: Pump;

  constructor(
    readonly requester: CircuitEnd,
    readonly target: CircuitEnd,
    private readonly limits: Limits,
    private readonly now: () => number,
    private readonly onClose: (circuit: Circuit, info: CircuitClose) => void,
    /** Sees every relayed chunk (tests prove it is ciphertext; the bench counts). */
    tap: ((from: RelaySide, chunk: Buffer) => void) | null = null,
  ) {
    this.startedAt = now();
    this.lastActivityAt = this.startedAt;
    const touch = (from: RelaySide) => (chunk: Buffer) => {
      this.lastActivityAt = this.now();
      tap?.(from, chunk);
    };
    this.up = new Pump(requester.stream, target.stream, limits, now, touch('requester'));
    this.down = new Pump(target.stream, requester.stream, limits, now, touch('target'));
    for (const [end, side] of [
      [requester, 'requester'],
      [target, 'target'],
    ] as const) {
      end.stream.on('error', () => {}); // 'close' follows and ends the circuit
      end.stream.on('close', () => this.close(null, `the ${side} closed`));
    }
    this.up.start();
    this.down.start();
  }

  /** Idle and stall checks; the service calls this from its sweep. */
  check(now: number): void {
    if (now - this.lastActivityAt >= this.limits.idleTimeoutMs) {
      this.close(ErrorCode.IDLE_TIMEOUT, `nothing relayed for ${Math.round((now - this.lastActivityAt) / 1000)} s`);
      return;
    }
    for (const [pump, reader] of [
      [this.up, 'target'],
      [this.down, 'requester'],
    ] as const) {
      if (pump.stalledSince !== null && now - pump.stalledSince >= this.limits.stallTimeoutMs) {
        this.close(ErrorCode.SLOW_CONSUMER, `the ${reader} (${this.end(reader).user}) stopped reading`);
        return;
      }
    }
  }

  end(side: RelaySide): CircuitEnd {
    return side === 'requester' ? this.requester : this.target;
  }

  /** `code` null: an ordinary end, the rest is flushed; otherwise both sides are cut at once. */
  close(code: ErrorCode | null, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.up.stop();
    this.down.stop();
    for (const { stream } of [this.requester, this.target]) {
      if (code !== null) stream.destroy();
      else {
        stream.end();
        setTimeout(() => stream.destroy(), END_GRACE_MS).unref();
      }
    }
    this.onClose(this, {
      code,
      reason,
      up: this.up.bytes,
      down: this.down.bytes,
      durationMs: this.now() - this.startedAt,
    });
  }
}
