/**
 * The client's UDP path to the server (PROTOCOL.md section 5.2): register the endpoint with
 * `hello` until the server's `welcome`, then ping; the path is alive while pongs come back.
 */
import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import { UDP_DEAD_AFTER_MS, UDP_KEEPALIVE_INTERVAL_MS } from '../net/constants.ts';
import { Direction, newDropCounters, type DropReason } from '../net/datagram.ts';
import { udpServerMessages, type UdpClientMessage, type UdpServerMessage } from '../net/messages.ts';
import { encodeTokenAck, type TokenAckEntry } from '../net/token-ack.ts';
import { readHeader, UdpChannel } from '../net/udp-channel.ts';
import { createUdpSocket } from '../net/udp-socket.ts';

export const UDP_HELLO_RETRY_MS = 1_000;

export const UdpState = { CONNECTING: 'connecting', ALIVE: 'alive', DEAD: 'dead', DOWN: 'down' } as const;
export type UdpState = (typeof UdpState)[keyof typeof UdpState];

export interface UdpLinkOptions {
  host: string;
  port: number;
  sid: Buffer;
  key: Buffer;
  keepaliveMs?: number;
  deadAfterMs?: number;
  /** Counters to add drops to, by reason (section 5.2); the client keeps one set across logins. */
  drops?: Record<DropReason, number>;
}

export interface UdpLinkEvents {
  state: [UdpState];
  message: [UdpServerMessage];
}

export class UdpLink extends EventEmitter<UdpLinkEvents> {
  state: UdpState = UdpState.CONNECTING;
  /** Datagrams that failed authentication, replay or schema checks. */
  dropped = 0;
  readonly drops: Record<DropReason, number>;
  private readonly channel: UdpChannel<typeof udpServerMessages>;
  private readonly socket: Socket;
  private timer: NodeJS.Timeout | null = null;
  private lastHeardAt = 0;
  private pingCount = 0;
  private closed = false;
  private readonly keepaliveMs: number;
  private readonly deadAfterMs: number;

  constructor(private readonly options: UdpLinkOptions) {
    super();
    this.keepaliveMs = options.keepaliveMs ?? UDP_KEEPALIVE_INTERVAL_MS;
    this.deadAfterMs = options.deadAfterMs ?? UDP_DEAD_AFTER_MS;
    this.drops = options.drops ?? newDropCounters();
    this.channel = new UdpChannel(options.key, options.sid, Direction.CLIENT_TO_SERVER, udpServerMessages);
    this.socket = createUdpSocket(isIP(options.host) === 6 ? 'udp6' : 'udp4');
    this.socket.on('message', (datagram) => this.receive(datagram));
    this.socket.on('error', () => this.setState(UdpState.DEAD));
  }

  start(): void {
    this.sendHello();
  }

  send(message: UdpClientMessage): void {
    if (this.closed) return;
    const datagram = this.channel.seal(message);
    this.socket.send(datagram, this.options.port, this.options.host, () => {});
  }

  /** Acknowledge `bcast` copies by their tokens (section 5.4): 1..64 entries. */
  sendTokenAck(entries: readonly TokenAckEntry[]): void {
    if (this.closed) return;
    this.socket.send(encodeTokenAck(this.options.sid, entries), this.options.port, this.options.host, () => {});
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.setState(UdpState.DOWN);
    this.socket.close();
    this.removeAllListeners();
  }

  private sendHello(): void {
    if (this.closed || this.state === UdpState.ALIVE) return;
    this.send({ t: 'hello' });
    this.schedule(() => this.sendHello(), UDP_HELLO_RETRY_MS);
  }

  private tick(): void {
    if (this.closed) return;
    if (Date.now() - this.lastHeardAt > this.deadAfterMs) {
      this.setState(UdpState.DEAD);
      this.sendHello(); // re-register: the server may have restarted or our NAT mapping changed
      return;
    }
    this.send({ t: 'ping', n: ++this.pingCount });
    this.schedule(() => this.tick(), this.keepaliveMs);
  }

  private schedule(fn: () => void, ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(fn, ms);
    this.timer.unref();
  }

  private receive(datagram: Buffer): void {
    const header = readHeader(datagram);
    if (!header) return this.drop('malformed');
    if (!header.sid.equals(this.options.sid)) return this.drop('unknown_session');
    const opened = this.channel.open(datagram, header);
    if (!opened.ok) return this.drop(opened.reason);
    this.lastHeardAt = Date.now();
    if (this.state !== UdpState.ALIVE) {
      this.setState(UdpState.ALIVE);
      this.schedule(() => this.tick(), this.keepaliveMs);
    }
    if (opened.message.t !== 'welcome' && opened.message.t !== 'pong') this.emit('message', opened.message);
  }

  private drop(reason: DropReason): void {
    this.dropped += 1;
    this.drops[reason] += 1;
  }

  private setState(state: UdpState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}
