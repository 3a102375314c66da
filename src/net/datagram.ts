/**
 * Sealed UDP datagrams (PROTOCOL.md section 5). AES-256-GCM from node:crypto with the
 * session's key; the 17-byte header is authenticated as associated data. The nonce is the
 * direction (4 bytes) followed by the sender's sequence number (8 bytes), so a key never sees
 * the same nonce twice as long as each side counts up from 1.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import {
  MAX_DATAGRAM_BYTES,
  UDP_HEADER_BYTES,
  UDP_KEY_BYTES,
  UDP_SESSION_ID_BYTES,
  UDP_TAG_BYTES,
  UDP_VERSION,
} from './constants.ts';

export const Direction = { CLIENT_TO_SERVER: 0, SERVER_TO_CLIENT: 1 } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

const SEQ_OFFSET = 1 + UDP_SESSION_ID_BYTES;
const TWO_POW_32 = 2 ** 32;

export interface DatagramHeader {
  sid: Buffer;
  seq: number;
}

/** Failure reasons, one counter each (section 5.2). */
export type DropReason = 'malformed' | 'unknown_session' | 'replayed' | 'forged';

/** A zeroed counter per drop reason. */
export function newDropCounters(): Record<DropReason, number> {
  return { malformed: 0, unknown_session: 0, replayed: 0, forged: 0 };
}

/** One nonce buffer for every call: createCipheriv/createDecipheriv copy the IV they are given. */
const nonce = Buffer.alloc(12);

function nonceFor(direction: Direction, seq: number): Buffer {
  nonce.writeUInt32BE(direction, 0);
  nonce.writeUInt32BE(Math.floor(seq / TWO_POW_32), 4);
  nonce.writeUInt32BE(seq % TWO_POW_32, 8);
  return nonce;
}

export function sealDatagram(key: Buffer, sid: Buffer, direction: Direction, seq: number, plaintext: Buffer): Buffer {
  if (key.length !== UDP_KEY_BYTES) throw new RangeError('UDP key must be 32 bytes');
  if (sid.length !== UDP_SESSION_ID_BYTES) throw new RangeError('session id must be 8 bytes');
  if (!Number.isSafeInteger(seq) || seq <= 0) throw new RangeError('sequence must be a positive safe integer');
  const out = Buffer.allocUnsafe(UDP_HEADER_BYTES + plaintext.length + UDP_TAG_BYTES);
  out[0] = UDP_VERSION;
  sid.copy(out, 1);
  out.writeUInt32BE(Math.floor(seq / TWO_POW_32), SEQ_OFFSET);
  out.writeUInt32BE(seq % TWO_POW_32, SEQ_OFFSET + 4);
  const cipher = createCipheriv('aes-256-gcm', key, nonceFor(direction, seq));
  cipher.setAAD(out.subarray(0, UDP_HEADER_BYTES));
  let offset = UDP_HEADER_BYTES;
  offset += cipher.update(plaintext).copy(out, offset);
  offset += cipher.final().copy(out, offset);
  cipher.getAuthTag().copy(out, offset);
  return out;
}

/** Read the clear header; null if the datagram cannot be one of ours. Never throws. */
export function readHeader(datagram: Buffer): DatagramHeader | null {
  if (datagram.length < UDP_HEADER_BYTES + UDP_TAG_BYTES || datagram.length > MAX_DATAGRAM_BYTES) return null;
  if (datagram[0] !== UDP_VERSION) return null;
  const hi = datagram.readUInt32BE(SEQ_OFFSET);
  if (hi >= 2 ** 21) return null; // beyond Number.MAX_SAFE_INTEGER
  const seq = hi * TWO_POW_32 + datagram.readUInt32BE(SEQ_OFFSET + 4);
  if (seq === 0) return null;
  return { sid: datagram.subarray(1, 1 + UDP_SESSION_ID_BYTES), seq };
}

/** Authenticate and decrypt; null when the tag does not verify. Never throws. */
export function openDatagram(
  key: Buffer,
  direction: Direction,
  datagram: Buffer,
  header: DatagramHeader,
): Buffer | null {
  try {
    const tagStart = datagram.length - UDP_TAG_BYTES;
    const decipher = createDecipheriv('aes-256-gcm', key, nonceFor(direction, header.seq));
    decipher.setAAD(datagram.subarray(0, UDP_HEADER_BYTES));
    decipher.setAuthTag(datagram.subarray(tagStart));
    const head = decipher.update(datagram.subarray(UDP_HEADER_BYTES, tagStart));
    const tail = decipher.final();
    return tail.length ? Buffer.concat([head, tail]) : head;
  } catch {
    return null;
  }
}
