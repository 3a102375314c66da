/**
 * One client connection's state on the server (PROTOCOL.md section 3.1). The state is one
 * field; everything a handler may touch about a client lives here.
 */
import { randomBytes } from 'node:crypto';
import type { FramedConnection } from '../net/connection.ts';
import { encodeMessage } from '../net/codec.ts';
import { OUTPUT_QUEUE_BYTES, UDP_KEY_BYTES, UDP_SESSION_ID_BYTES } from '../net/constants.ts';
import { Direction } from '../net/datagram.ts';
import { ErrorCode, ProtocolError } from '../net/errors.ts';
import { udpClientMessages, type clientMessages, type ServerMessage } from '../net/messages.ts';
import { UdpChannel } from '../net/udp-channel.ts';
import type { PresenceBacklog } from './presence-changes.ts';

export const SessionState = {
  AWAIT_AUTH: 'await_auth',
  AUTHENTICATING: 'authenticating',
  ONLINE: 'online',
  CLOSED: 'closed',
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

export const UdpPathState = { UNREGISTERED: 'unregistered', ALIVE: 'alive', DEAD: 'dead' } as const;
export type UdpPathState = (typeof UdpPathState)[keyof typeof UdpPathState];

export interface UdpPath {
  readonly sidHex: string;
  readonly channel: UdpChannel<typeof udpClientMessages>;
  endpoint: { address: string; port: number } | null;
  lastHeardAt: number;
  state: UdpPathState;
}

/** Token bucket for inbound messages: a chat client never needs more than this. */
export const MESSAGES_PER_SECOND = 50;
export const MESSAGE_BURST = 200;
export const MAX_INVALID_MESSAGES = 10;

/**
 * A session that has logged in (section 4.3): its name, UDP path and peer port are set, and
 * stay set for the rest of its life. The guard checks the state; `state` itself is not
 * narrowed in the type, because a handler or a timer may hold an online session across an
 * await or a tick while it closes, and must still be able to see `CLOSED`.
 */
export type OnlineSession = ClientSession & { readonly user: string; readonly udp: UdpPath };

export function isOnline(session: ClientSession): session is OnlineSession {
  return session.state === SessionState.ONLINE && session.user !== null && session.udp !== null;
}

export class ClientSession {
  state: SessionState = SessionState.AWAIT_AUTH;
  /** Display name as registered, once logged in. */
  user: string | null = null;
  peerPort: number | null = null;
  udp: UdpPath | null = null;
  readonly connectedAt: number;
  lastHeardAt: number;
  invalidMessages = 0;
  /** Presence changes missed while its output was backed up; sent on drain (presence.ts). */
  presenceBacklog: PresenceBacklog | null = null;
  closeReason: string | null = null;
  private tokens = MESSAGE_BURST;
  private tokensAt: number;

  constructor(
    readonly id: number,
    readonly ip: string,
    readonly conn: FramedConnection<typeof clientMessages, ServerMessage>,
    now: number,
  ) {
    this.connectedAt = now;
    this.lastHeardAt = now;
    this.tokensAt = now;
  }

  get isClosed(): boolean {
    return this.state === SessionState.CLOSED;
  }

  get isOnline(): boolean {
    return this.state === SessionState.ONLINE;
  }

  send(message: ServerMessage): void {
    this.sendFrame(encodeMessage(message));
  }

  /**
   * Queue an encoded frame. A client that lets OUTPUT_QUEUE_BYTES.SERVER_DISCONNECT pile up is cut off
   * (section 3.3) rather than making the server buffer without bound.
   */
  sendFrame(frame: Buffer): void {
    if (this.conn.pendingOutputBytes + frame.length > OUTPUT_QUEUE_BYTES.SERVER_DISCONNECT) {
      this.closeReason ??= ErrorCode.SLOW_CONSUMER;
      this.conn.destroy(new ProtocolError(ErrorCode.SLOW_CONSUMER, 'client is not reading'));
      return;
    }
    this.conn.sendFrame(frame);
  }

  sendError(error: ProtocolError, re?: number, fatal = false): void {
    this.send({
      t: 'error',
      ...(re === undefined ? {} : { re }),
      code: error.code,
      message: error.message,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: Math.ceil(error.retryAfterMs) }),
      ...(fatal ? { fatal: true } : {}),
    });
  }

  /** Tell the client why, then close; `re` when a request caused it (section 2). */
  closeWith(code: ErrorCode, message: string, re?: number): void {
    if (this.state === SessionState.CLOSED) return;
    this.closeReason ??= code;
    this.conn.end({ t: 'error', ...(re === undefined ? {} : { re }), code, message, fatal: true });
  }

  /** Take one message from the bucket; false if the client is over its rate. */
  takeToken(now: number): boolean {
    this.tokens = Math.min(MESSAGE_BURST, this.tokens + ((now - this.tokensAt) / 1000) * MESSAGES_PER_SECOND);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Log in (section 4.3): name the session's user, hand it a fresh UDP key and session id
   * (section 5.1, sent in `welcome`) and make it ONLINE. The one place a session becomes an
   * OnlineSession.
   */
  goOnline(user: string, peerPort: number | null, now: number): OnlineSession {
    const key = randomBytes(UDP_KEY_BYTES);
    const sid = randomBytes(UDP_SESSION_ID_BYTES);
    const udp: UdpPath = {
      sidHex: sid.toString('hex'),
      channel: new UdpChannel(key, sid, Direction.SERVER_TO_CLIENT, udpClientMessages),
      endpoint: null,
      lastHeardAt: now,
      state: UdpPathState.UNREGISTERED,
    };
    this.state = SessionState.ONLINE;
    this.user = user;
    this.peerPort = peerPort;
    this.udp = udp;
    return this as OnlineSession;
  }
}
