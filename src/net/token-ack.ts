/**
 * Token acks (PROTOCOL.md section 5.4): a client acknowledges `bcast` copies by echoing each
 * copy's ack token, in a datagram that is not sealed. The token came inside a datagram sealed
 * with the client's key, so only that client could have read it: echoing it proves receipt
 * without a cipher call on either side, which a fan-out to 10,000 pays 10,000 times.
 *
 *   offset  size  field
 *   0       1     version = 2
 *   1       8     sid
 *   9       1     n: entries, 1..64
 *   10      16n   n entries: bid (8 bytes) + token (8 bytes)
 *
 * Pure: Buffers in, Buffers out.
 */
import {
  ACK_TOKEN_BYTES,
  BROADCAST_ID_BYTES,
  MAX_BROADCAST_ACK_IDS_UDP,
  UDP_SESSION_ID_BYTES,
  UDP_TOKEN_ACK_VERSION,
} from './constants.ts';

const COUNT_OFFSET = 1 + UDP_SESSION_ID_BYTES;
const ENTRIES_OFFSET = COUNT_OFFSET + 1;
const ENTRY_BYTES = BROADCAST_ID_BYTES + ACK_TOKEN_BYTES;
const HEX_ID = new RegExp(`^[0-9a-f]{${2 * BROADCAST_ID_BYTES}}$`);
const HEX_TOKEN = new RegExp(`^[0-9a-f]{${2 * ACK_TOKEN_BYTES}}$`);

/** One acknowledged copy, as the client has it: the broadcast's id and the copy's `k`. */
export interface TokenAckEntry {
  bid: string;
  k: string;
}

/** One entry as the server reads it: the token as two 32-bit halves (compared without strings). */
export interface ReadTokenAckEntry {
  bid: string;
  hi: number;
  lo: number;
}

export interface ReadTokenAck {
  sid: Buffer;
  entries: ReadTokenAckEntry[];
}

/** Can this copy be acked by token? (a 16-hex-digit bid and a well-formed `k`) */
export function tokenAckable(bid: string, k: string | undefined): k is string {
  return k !== undefined && HEX_ID.test(bid) && HEX_TOKEN.test(k);
}

/** At most MAX_BROADCAST_ACK_IDS_UDP entries, each passing tokenAckable(). */
export function encodeTokenAck(sid: Buffer, entries: readonly TokenAckEntry[]): Buffer {
  if (sid.length !== UDP_SESSION_ID_BYTES) throw new RangeError('session id must be 8 bytes');
  if (entries.length < 1 || entries.length > MAX_BROADCAST_ACK_IDS_UDP)
    throw new RangeError(`a token ack holds 1..${MAX_BROADCAST_ACK_IDS_UDP} entries`);
  const out = Buffer.allocUnsafe(ENTRIES_OFFSET + entries.length * ENTRY_BYTES);
  out[0] = UDP_TOKEN_ACK_VERSION;
  sid.copy(out, 1);
  out[COUNT_OFFSET] = entries.length;
  let at = ENTRIES_OFFSET;
  for (const { bid, k } of entries) {
    if (!tokenAckable(bid, k)) throw new RangeError('a token ack entry needs a 16-hex-digit bid and token');
    at += out.write(bid, at, BROADCAST_ID_BYTES, 'hex');
    at += out.write(k, at, ACK_TOKEN_BYTES, 'hex');
  }
  return out;
}

/** Read a token ack; null if it is not a well-formed one. Never throws. */
export function decodeTokenAck(datagram: Buffer): ReadTokenAck | null {
  if (datagram.length < ENTRIES_OFFSET + ENTRY_BYTES || datagram[0] !== UDP_TOKEN_ACK_VERSION) return null;
  const n = datagram[COUNT_OFFSET] ?? 0;
  if (n < 1 || n > MAX_BROADCAST_ACK_IDS_UDP || datagram.length !== ENTRIES_OFFSET + n * ENTRY_BYTES) return null;
  const entries: ReadTokenAckEntry[] = [];
  for (let at = ENTRIES_OFFSET; at < datagram.length; at += ENTRY_BYTES) {
    const token = at + BROADCAST_ID_BYTES;
    entries.push({
      bid: datagram.toString('hex', at, token),
      hi: datagram.readUInt32BE(token),
      lo: datagram.readUInt32BE(token + 4),
    });
  }
  return { sid: datagram.subarray(1, COUNT_OFFSET), entries };
}
