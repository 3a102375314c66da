/**
 * The server's UDP side (PROTOCOL.md section 5): finds the session by the datagram's session
 * id, opens it through that session's channel (replay window, AEAD, schema), and answers.
 * Anything that fails is dropped and counted by reason, never acted on.
 */
import { newDropCounters, type DropReason } from '../net/datagram.ts';
import type { Msg, UdpClientMessage, UdpServerMessage } from '../net/messages.ts';
import { readHeader } from '../net/udp-channel.ts';
import type { ServerCore } from './server.ts';
import { UdpPathState, type ClientSession } from './session.ts';

export type DatagramSender = (datagram: Buffer, port: number, address: string) => void;

type UdpHandler = (session: ClientSession, message: UdpClientMessage) => void;

export class UdpEndpoint {
  readonly dropped: Record<DropReason, number> = newDropCounters();
  received = 0;
  private sender: DatagramSender | null = null;
  private boundPort = 0;
  private readonly bySid = new Map<string, ClientSession>();
  private readonly extraHandlers = new Map<string, UdpHandler>();

  constructor(private readonly server: ServerCore) {}

  get port(): number {
    return this.boundPort;
  }

  attach(sender: DatagramSender, port: number): void {
    this.sender = sender;
    this.boundPort = port;
  }

  /** Feature modules (broadcast acks) add their own datagram types here. */
  on<T extends UdpClientMessage['t']>(type: T, handler: (session: ClientSession, message: Msg<UdpClientMessage, T>) => void): void {
    this.extraHandlers.set(type, handler as UdpHandler);
  }

  register(session: ClientSession): void {
    if (session.udp) this.bySid.set(session.udp.sidHex, session);
  }

  unregister(session: ClientSession): void {
    if (session.udp && this.bySid.get(session.udp.sidHex) === session) this.bySid.delete(session.udp.sidHex);
  }

  /** Seal and send to the session's registered endpoint; false if it has none. */
  send(session: ClientSession, message: UdpServerMessage): boolean {
    return this.sendPayload(session, Buffer.from(JSON.stringify(message), 'utf8'));
  }

  sendPayload(session: ClientSession, payload: Buffer): boolean {
    const udp = session.udp;
    if (!udp?.endpoint || !this.sender) return false;
    this.sender(udp.channel.sealPayload(payload), udp.endpoint.port, udp.endpoint.address);
    return true;
  }

  receive(datagram: Buffer, address: string, port: number): void {
    this.received += 1;
    const header = readHeader(datagram);
    if (!header) return this.drop('malformed', address);
    const session = this.bySid.get(header.sid.toString('hex'));
    if (!session?.udp) return this.drop('unknown_session', address);
    const opened = session.udp.channel.open(datagram, header);
    if (!opened.ok) return this.drop(opened.reason, address);

    // Authenticated: this is the client's current endpoint (it may roam, as behind NAT).
    const udp = session.udp;
    udp.endpoint = { address, port };
    udp.lastHeardAt = this.server.now();
    if (udp.state !== UdpPathState.ALIVE) {
      udp.state = UdpPathState.ALIVE;
      this.server.emit('udp_path', { user: session.user as string, state: udp.state });
    }
    const message = opened.message;
    switch (message.t) {
      case 'hello':
        this.send(session, { t: 'welcome' });
        return;
      case 'ping':
        this.send(session, { t: 'pong', n: message.n });
        return;
      default: {
        const handler = this.extraHandlers.get(message.t);
        if (handler) handler(session, message);
      }
    }
  }

  private drop(reason: DropReason, address: string): void {
    this.dropped[reason] += 1;
    this.server.emit('udp_drop', { reason, address });
  }
}
