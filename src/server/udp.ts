/**
 * The server's UDP side (PROTOCOL.md section 5): finds the session by the datagram's session
 * id, opens it through that session's channel (replay window, AEAD, schema), and answers.
 * Anything that fails is dropped and counted by reason, never acted on.
 *
 * While the server is fanning a broadcast out (`host.holding()`), datagrams read between its
 * turns are held, with the time they were read, and handled once it is done (`release`):
 * opening each ack in the middle of the send loop would delay the recipients still to be
 * sent to (docs/BENCHMARKS.md, issue 15).
 */
import { newDropCounters, type DropReason } from '../net/datagram.ts';
import type { UdpClientMessage, UdpServerMessage } from '../net/messages.ts';
import { UDP_TOKEN_ACK_VERSION } from '../net/constants.ts';
import { decodeTokenAck, type ReadTokenAckEntry } from '../net/token-ack.ts';
import { readHeader } from '../net/udp-channel.ts';
import type { Clock } from './rate-limit.ts';
import type { Emit } from './events.ts';
import { UdpPathState, type OnlineSession } from './session.ts';

export type DatagramSender = (datagram: Buffer, port: number, address: string) => void;

/**
 * Datagrams held during a fan-out, at most: the acks of a fan-out to 10,000 and the
 * keepalives meanwhile, a few MB of small Buffers. Past it they are handled as they come.
 */
export const MAX_HELD_DATAGRAMS = 16_384;

interface Held {
  datagram: Buffer;
  address: string;
  port: number;
  at: number;
}

/** What the UDP endpoint needs from the server around it. */
export interface UdpHost {
  now: Clock;
  emit: Emit;
  /**
   * An opened datagram that is not about the path itself (`hello`, `ping` are answered
   * here): the server routes it through its handler table like a TCP message. `receivedAt`:
   * when it was read (earlier than now if it was held).
   */
  dispatch(session: OnlineSession, message: UdpClientMessage, receivedAt: number): void;
  /** Hold datagrams instead of handling them: a fan-out is sending (then `release`). */
  holding(): boolean;
  /** Which entries of a token ack match the copies sent to the session (section 5.4). */
  acceptAckTokens(session: OnlineSession, entries: readonly ReadTokenAckEntry[]): { bids: string[]; forged: number };
}

export class UdpEndpoint {
  readonly dropped: Record<DropReason, number> = newDropCounters();
  received = 0;
  /** Of `received`: held during a fan-out and handled after it. */
  heldTotal = 0;
  private held: Held[] = [];
  private sender: DatagramSender | null = null;
  private boundPort = 0;
  private readonly bySid = new Map<string, OnlineSession>();

  constructor(private readonly host: UdpHost) {}

  get port(): number {
    return this.boundPort;
  }

  attach(sender: DatagramSender, port: number): void {
    this.sender = sender;
    this.boundPort = port;
  }

  register(session: OnlineSession): void {
    this.bySid.set(session.udp.sidHex, session);
  }

  unregister(session: OnlineSession): void {
    if (this.bySid.get(session.udp.sidHex) === session) this.bySid.delete(session.udp.sidHex);
  }

  /** Seal and send to the session's registered endpoint; false if it has none. */
  send(session: OnlineSession, message: UdpServerMessage): boolean {
    return this.sendPayload(session, Buffer.from(JSON.stringify(message), 'utf8'));
  }

  sendPayload(session: OnlineSession, payload: Buffer): boolean {
    const udp = session.udp;
    if (!udp.endpoint || !this.sender) return false;
    this.sender(udp.channel.sealPayload(payload), udp.endpoint.port, udp.endpoint.address);
    return true;
  }

  receive(datagram: Buffer, address: string, port: number): void {
    this.received += 1;
    const at = this.host.now();
    if (this.held.length < MAX_HELD_DATAGRAMS && this.host.holding()) {
      this.held.push({ datagram, address, port, at });
      this.heldTotal += 1;
      return;
    }
    this.handle(datagram, address, port, at);
  }

  /** Datagrams held now. */
  get heldCount(): number {
    return this.held.length;
  }

  /** Handle the datagrams held during a fan-out, in the order they came. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) this.handle(h.datagram, h.address, h.port, h.at);
  }

  private handle(datagram: Buffer, address: string, port: number, at: number): void {
    if (datagram[0] === UDP_TOKEN_ACK_VERSION) return this.handleTokenAck(datagram, address, at);
    const header = readHeader(datagram);
    if (!header) return this.drop('malformed', address);
    const session = this.bySid.get(header.sid.toString('hex'));
    if (!session) return this.drop('unknown_session', address);
    const opened = session.udp.channel.open(datagram, header);
    if (!opened.ok) return this.drop(opened.reason, address);

    // Authenticated: this is the client's current endpoint (it may roam, as behind NAT).
    const udp = session.udp;
    udp.endpoint = { address, port };
    udp.lastHeardAt = Math.max(udp.lastHeardAt, at);
    if (udp.state !== UdpPathState.ALIVE) {
      udp.state = UdpPathState.ALIVE;
      this.host.emit('udp_path', { user: session.user, state: udp.state });
    }
    const message = opened.message;
    switch (message.t) {
      case 'hello':
        this.send(session, { t: 'welcome' });
        return;
      case 'ping':
        this.send(session, { t: 'pong', n: message.n });
        return;
      case 'bcast_ack': // handled as if it came over the control channel
        this.host.dispatch(session, message, at);
    }
  }

  /**
   * A token ack (section 5.4): not sealed, so it proves only that its sender read the copies'
   * tokens, each good once. It counts as hearing from the client but does not move its
   * endpoint: only a sealed datagram does that.
   */
  private handleTokenAck(datagram: Buffer, address: string, at: number): void {
    const ack = decodeTokenAck(datagram);
    if (!ack) return this.drop('malformed', address);
    const session = this.bySid.get(ack.sid.toString('hex'));
    if (!session) return this.drop('unknown_session', address);
    const { bids, forged } = this.host.acceptAckTokens(session, ack.entries);
    if (forged > 0) this.drop('forged', address);
    if (bids.length === 0) return;
    session.udp.lastHeardAt = Math.max(session.udp.lastHeardAt, at);
    this.host.dispatch(session, { t: 'bcast_ack', bids }, at);
  }

  private drop(reason: DropReason, address: string): void {
    this.dropped[reason] += 1;
    this.host.emit('udp_drop', { reason, address });
  }
}
