/**
 * Anti-replay sliding window (as in IPsec/DTLS, RFC 6479): remembers which of the last
 * `size` sequence numbers were seen. Check with `accepts` before spending work, and `commit`
 * only after the datagram authenticated, so forged packets cannot move the window.
 */
import { REPLAY_WINDOW_PACKETS } from './constants.ts';

export class ReplayWindow {
  private highest = 0;
  private readonly bits: Uint32Array;

  constructor(private readonly size = REPLAY_WINDOW_PACKETS) {
    if (size % 32 !== 0) throw new RangeError('window size must be a multiple of 32');
    this.bits = new Uint32Array(size / 32);
  }

  /** Largest sequence number committed so far (0 before the first). */
  get latest(): number {
    return this.highest;
  }

  accepts(seq: number): boolean {
    if (!Number.isSafeInteger(seq) || seq <= 0) return false;
    if (seq > this.highest) return true;
    if (seq <= this.highest - this.size) return false;
    return !this.isSet(seq);
  }

  /** Record seq as seen; returns false (and records nothing) if it is not acceptable. */
  commit(seq: number): boolean {
    if (!this.accepts(seq)) return false;
    if (seq > this.highest) {
      const advance = seq - this.highest;
      if (advance >= this.size) this.bits.fill(0);
      else for (let s = this.highest + 1; s < seq; s++) this.clear(s);
      this.highest = seq;
      this.clear(seq);
    }
    this.set(seq);
    return true;
  }

  // seq is never negative and i < size, so word i >>> 5 is always one of the size / 32 in
  // bits; the `?? 0` only satisfies the type (JS reads a missing word as 0 in `&` anyway).
  private isSet(seq: number): boolean {
    const i = seq % this.size;
    return ((this.bits[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }
  private set(seq: number): void {
    const i = seq % this.size;
    this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) | (1 << (i & 31));
  }
  private clear(seq: number): void {
    const i = seq % this.size;
    this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) & ~(1 << (i & 31));
  }
}
