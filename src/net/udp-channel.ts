/**
 * One side of a UDP session: seals outgoing messages with a counting sequence number and
 * opens incoming ones through the replay window and the message schema (section 5).
 */
import { validateMessage } from './codec.ts';
import { Direction, openDatagram, readHeader, sealDatagram, type DatagramHeader, type DropReason } from './datagram.ts';
import type { MessageOf, MessageSet } from './messages.ts';
import { ReplayWindow } from './replay.ts';

export type Opened<M> = { ok: true; message: M; seq: number } | { ok: false; reason: DropReason };

export class UdpChannel<In extends MessageSet> {
  private sendSeq = 0;
  private readonly window = new ReplayWindow();
  private readonly receiveDirection: Direction;

  constructor(
    readonly key: Buffer,
    readonly sid: Buffer,
    private readonly sendDirection: Direction,
    private readonly inbound: In,
  ) {
    this.receiveDirection =
      sendDirection === Direction.CLIENT_TO_SERVER ? Direction.SERVER_TO_CLIENT : Direction.CLIENT_TO_SERVER;
  }

  seal(message: { t: string }): Buffer {
    return this.sealPayload(Buffer.from(JSON.stringify(message), 'utf8'));
  }

  /** Seal an already-serialised payload (fan-out serialises once for every recipient). */
  sealPayload(payload: Buffer): Buffer {
    this.sendSeq += 1;
    return sealDatagram(this.key, this.sid, this.sendDirection, this.sendSeq, payload);
  }

  /** `header` must come from readHeader() of the same datagram, with a matching sid. */
  open(datagram: Buffer, header: DatagramHeader): Opened<MessageOf<In>> {
    if (!this.window.accepts(header.seq)) return { ok: false, reason: 'replayed' };
    const plaintext = openDatagram(this.key, this.receiveDirection, datagram, header);
    if (!plaintext) return { ok: false, reason: 'forged' };
    this.window.commit(header.seq);
    let value: unknown;
    try {
      value = JSON.parse(plaintext.toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const result = validateMessage(this.inbound, value);
    if (!result.ok) return { ok: false, reason: 'malformed' };
    return { ok: true, message: result.message, seq: header.seq };
  }
}

export { readHeader };
