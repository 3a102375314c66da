/**
 * Delivery's state per online recipient and per broadcast (PROTOCOL.md section 7.2): what
 * was sent to whom and is awaited, and each broadcast serialised once for every recipient.
 */
import { ACK_TOKEN_BYTES, MAX_DATAGRAM_BYTES, UDP_HEADER_BYTES, UDP_TAG_BYTES } from '../../net/constants.ts';
import { encodeMessage } from '../../net/codec.ts';
import type { ServerMessage, UdpServerMessage } from '../../net/messages.ts';
import { userKey } from '../users/store.ts';
import type { DeliveryPeer, PendingBroadcast } from './ports.ts';
import type { RttEstimator } from './rto.ts';

export interface InFlight {
  /** Copies sent so far (1 = the first send). */
  tries: number;
  /** The RTO the first send waited. */
  rto: number;
  /** The current wait: the RTO, then the resend RTO, doubled at each later copy. */
  wait: number;
  /** Host clock time of the first send, and of the latest copy. */
  firstAt: number;
  lastAt: number;
  nextAt: number;
  /**
   * The ack token (section 5.4) as two 32-bit halves. Copy n carries it with n - 1 xored
   * into its last bits, so a token ack says which copy arrived: every ack times a round trip.
   */
  tokenHi: number;
  tokenLo: number;
  /** The copy a token ack named (1 = the first send); 0 until then, and for a sealed ack. */
  ackedCopy: number;
}

/** What the server has sent one online session and is waiting to hear back about. */
export class Recipient<S extends DeliveryPeer> {
  readonly key: string;
  readonly udp = new Map<string, InFlight>();
  /** Sent over this TLS connection; waiting for its ack, never resent on this connection. */
  readonly tcp = new Set<string>();
  /** To be sent over TCP once the connection has room (creation order). */
  readonly owed = new Set<string>();
  /** Round trips to this recipient; null until its first (most sessions never need one). */
  rtt: RttEstimator | null = null;
  /**
   * The RTO as backed off by unanswered sends, kept until a valid sample (RFC 6298 5.5-5.7):
   * a client whose acks come after the RTO is then not resent everything again and again,
   * its acks all ambiguous (Karn) and its estimate never corrected.
   */
  backedOffRto: number | null = null;

  constructor(readonly session: S) {
    this.key = userKey(session.user);
  }

  has(bid: string): boolean {
    return this.udp.has(bid) || this.tcp.has(bid) || this.owed.has(bid);
  }

  forget(bid: string): void {
    this.udp.delete(bid);
    this.tcp.delete(bid);
    this.owed.delete(bid);
  }

  get idle(): boolean {
    return this.udp.size === 0 && this.owed.size === 0;
  }
}

/** Reported with broadcast_delivered and broadcast_expired: is there a retransmit storm? */
export interface BroadcastSends {
  datagrams: number;
  frames: number;
}

export interface Encoded {
  /**
   * The `bcast` payload, or null if sealed it would not fit a datagram (then TCP only). Its
   * `k` is written in place (at `tokenAt`) before each send: one payload for every recipient.
   */
  udp: Buffer | null;
  tokenAt: number;
  tcp: Buffer;
  /** Sends of this broadcast so far, to every recipient: UDP (retransmissions included), TCP. */
  sends: BroadcastSends;
}

const TOKEN_PLACEHOLDER = '0'.repeat(2 * ACK_TOKEN_BYTES);

/** A broadcast serialised once: the token and sealing per recipient are all a fan-out adds. */
export function encodeBroadcast(pending: PendingBroadcast): Encoded {
  const datagram: UdpServerMessage = { t: 'bcast', k: TOKEN_PLACEHOLDER, b: pending.item };
  const frame: ServerMessage = { t: 'broadcast', b: pending.item };
  const udp = Buffer.from(JSON.stringify(datagram), 'utf8');
  // `k` comes before `b`, so the first `"k":"` is the field's, whatever the text holds.
  const tokenAt = udp.indexOf('"k":"') + 5;
  // JSON escapes can make a 4 KiB text much longer than 4 KiB: such a one goes by TCP only.
  const fits = UDP_HEADER_BYTES + udp.length + UDP_TAG_BYTES <= MAX_DATAGRAM_BYTES;
  return { udp: fits ? udp : null, tokenAt, tcp: encodeMessage(frame), sends: { datagrams: 0, frames: 0 } };
}
