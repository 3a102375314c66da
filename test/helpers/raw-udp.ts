/**
 * A client's UDP side played by hand (PROTOCOL.md section 5), for tests of what the server
 * does with datagrams a real client would not send: its own dgram socket on a chosen loopback
 * address, the session's channel from `welcome.udp`, and every datagram it receives kept, raw
 * and opened, in order.
 */
import { createSocket, type Socket } from 'node:dgram';
import { Direction } from '../../src/net/datagram.ts';
import { udpServerMessages, type Msg, type UdpClientMessage, type UdpServerMessage } from '../../src/net/messages.ts';
import { encodeTokenAck, type TokenAckEntry } from '../../src/net/token-ack.ts';
import { readHeader, UdpChannel } from '../../src/net/udp-channel.ts';
import type { Welcome } from './raw.ts';
import { waitFor } from './wait.ts';

export type Bcast = Msg<UdpServerMessage, 'bcast'>;

export class RawUdp {
  /** Every datagram received, as it came. */
  readonly received: Buffer[] = [];
  /** The ones that opened with the session key, in order. */
  readonly messages: UdpServerMessage[] = [];
  readonly sid: Buffer;
  private readonly channel: UdpChannel<typeof udpServerMessages>;

  private constructor(
    private readonly socket: Socket,
    grant: Welcome['udp'],
    private readonly serverPort: number,
  ) {
    this.sid = Buffer.from(grant.sid, 'base64url');
    this.channel = new UdpChannel(
      Buffer.from(grant.key, 'base64url'),
      this.sid,
      Direction.CLIENT_TO_SERVER,
      udpServerMessages,
    );
    socket.on('message', (datagram) => {
      this.received.push(datagram);
      const header = readHeader(datagram);
      const opened = header ? this.channel.open(datagram, header) : null;
      if (opened?.ok) this.messages.push(opened.message);
    });
  }

  /** A socket bound to `address` (127.0.0.2, 127.0.0.3, ...: another host) for the session `grant`. */
  static open(grant: Welcome['udp'], serverPort: number, address = '127.0.0.1'): Promise<RawUdp> {
    const socket = createSocket('udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.off('error', reject);
        resolve(new RawUdp(socket, grant, serverPort));
      });
    });
  }

  get endpoint(): { address: string; port: number } {
    const { address, port } = this.socket.address();
    return { address, port };
  }

  send(datagram: Buffer): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(datagram, this.serverPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Seal with the session key (a sealed datagram registers this socket as the endpoint). */
  seal(message: UdpClientMessage): Promise<void> {
    return this.send(this.channel.seal(message));
  }

  /** An unsealed token ack (section 5.4) for this session, or for `sid`. */
  tokenAck(entries: readonly TokenAckEntry[], sid = this.sid): Promise<void> {
    return this.send(encodeTokenAck(sid, entries));
  }

  /** Register this socket as the session's endpoint: `hello` until the server's `welcome`. */
  async hello(): Promise<void> {
    await this.seal({ t: 'hello' });
    await waitFor(() => this.messages.some((m) => m.t === 'welcome'), { what: 'welcome over UDP' });
  }

  /** The `bcast` copies of `bid` received so far. */
  copies(bid: string): Bcast[] {
    return this.messages.filter((m): m is Bcast => m.t === 'bcast' && m.b.bid === bid);
  }

  /** Wait until at least `count` copies of `bid` came; returns them all. */
  waitCopies(bid: string, count = 1): Promise<Bcast[]> {
    return waitFor(
      () => {
        const copies = this.copies(bid);
        return copies.length >= count && copies;
      },
      { what: `${count} bcast of ${bid}` },
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
