/**
 * Ack tokens for `bcast` copies (PROTOCOL.md section 5.4): 8 random bytes per recipient and
 * broadcast, drawn from a pool of 1,024 refilled at once (one call into the CSPRNG for a
 * turn of a fan-out, not one a recipient), and written into the serialised payload as
 * hex in place, so the payload is still serialised once for every recipient.
 */
import { randomFillSync } from 'node:crypto';
import { ACK_TOKEN_BYTES } from '../../net/constants.ts';
import type { ReadTokenAckEntry } from '../../net/token-ack.ts';
import type { InFlight } from './recipient.ts';

const POOL_TOKENS = 1024;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

export class AckTokens {
  private readonly pool = Buffer.alloc(POOL_TOKENS * ACK_TOKEN_BYTES);
  private at = this.pool.length;
  /** The halves of the token last drawn by next(). */
  hi = 0;
  lo = 0;

  /** Draw a fresh token into `hi` and `lo`. */
  next(): void {
    if (this.at >= this.pool.length) {
      randomFillSync(this.pool);
      this.at = 0;
    }
    this.hi = this.pool.readUInt32BE(this.at);
    this.lo = this.pool.readUInt32BE(this.at + 4);
    this.at += ACK_TOKEN_BYTES;
  }
}

/** Write a token as 16 lower-case hex digits at `at` (the `k` slot of a payload). */
export function writeTokenHex(out: Buffer, at: number, hi: number, lo: number): void {
  for (let i = 0; i < 8; i++) {
    out[at + i] = HEX[(hi >>> (28 - 4 * i)) & 15] as number;
    out[at + 8 + i] = HEX[(lo >>> (28 - 4 * i)) & 15] as number;
  }
}

/**
 * The token half copy `n` carries (1 = the first send): the recipient's with n - 1 xored into
 * its last bits, so a token ack says which copy arrived.
 */
export function copyTokenLo(flight: InFlight, copy: number): number {
  return (flight.tokenLo ^ (copy - 1)) >>> 0;
}

/**
 * Match a token ack's entry against the copies in flight: true if it names one of them
 * (recorded as the copy that arrived), false for a wrong token. The halves are compared as
 * numbers, without a byte-by-byte early exit: the token is the secret.
 */
export function matchToken(flight: InFlight, entry: ReadTokenAckEntry): boolean {
  const copy = (flight.tokenLo ^ entry.lo) >>> 0;
  if ((flight.tokenHi ^ entry.hi) !== 0 || copy >= flight.tries) return false;
  if (flight.ackedCopy === 0) flight.ackedCopy = copy + 1;
  return true;
}
