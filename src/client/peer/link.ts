/**
 * One peer session over an established TLS-PSK socket (PROTOCOL.md sections 6.3-6.5): the
 * `hello` exchange that checks the peer is the user the server vouched for, ordered chat
 * messages with cumulative acks, typing, keepalive, and a clean end (`bye`) that the other
 * side hears at once. Dialing (with its retries) lives in dial.ts; accepting in listener.ts.
 */
import type { TLSSocket } from 'node:tls';
import { EventEmitter } from 'eventemitter3';
import { FramedConnection } from '../../net/connection.ts';
import {
  MAX_INVALID_PEER_FRAMES,
  OUTPUT_QUEUE_BYTES,
  PEER_DEAD_AFTER_MS,
  PEER_HANDSHAKE_TIMEOUT_MS,
  PEER_KEEPALIVE_INTERVAL_MS,
  PEER_TYPING_EXPIRY_MS,
  PEER_TYPING_REFRESH_MS,
  PROTOCOL_VERSION,
} from '../../net/constants.ts';
import { ErrorCode, isErrorCode, ProtocolError } from '../../net/errors.ts';
import { FrameBatcher } from '../../net/frame-batch.ts';
import { decodeFileData, type FileData } from '../../net/file-frame.ts';
import type { PeerMessage } from '../../net/messages.ts';
import { linkSecurity, verificationCode, type LinkSecurity } from '../../net/peer-tls.ts';
import { needsSanitizing, sanitizeLine, sanitizeText } from '../../net/sanitize.ts';
import { sameUser } from '../../net/names.ts';
import { chatTextTooLarge } from '../../net/text-limits.ts';
import { inboundPeerMessages, type InboundPeerMessage } from './inbound.ts';
import { PeerPath } from './path.ts';

export const PeerLinkState = {
  HANDSHAKING: 'handshaking',
  OPEN: 'open',
  CLOSING: 'closing',
  CLOSED: 'closed',
} as const;
export type PeerLinkState = (typeof PeerLinkState)[keyof typeof PeerLinkState];
export type PeerRole = 'requester' | 'target';

type Inbound = InboundPeerMessage;
/** The file transfer messages of section 6.7 (`file_offer`, `file_accept`, ...). */
export type FileControl = Extract<PeerMessage, { t: `file_${string}` }>;

export interface PeerChatMessage {
  id: number;
  /** Sanitised: no control characters or escape sequences (section 6.5). */
  text: string;
  /** The sender's clock when it sent the message. */
  ts: number;
}

export interface PeerLinkClose {
  reason: string;
  /** Why, when it was not a plain `bye`: E_DISCONNECTED (link lost), E_TIMEOUT, a peer error... */
  code: ErrorCode | null;
  /** The peer ended it (bye or its error), or the link died under us. */
  byPeer: boolean;
  /** Messages after this id were sent but never acknowledged. */
  lastDeliveredId: number;
  lastSentId: number;
}

export interface PeerLinkEvents {
  open: [];
  message: [PeerChatMessage];
  /** Every message with id <= upTo has reached the peer (cumulative). */
  delivered: [number];
  /** The peer refused one of our messages (E_MESSAGE_TOO_LARGE): it will not be shown there. */
  rejected: [{ id: number; error: ProtocolError }];
  typing: [boolean];
  /** A non-fatal error the peer reported, or an invalid frame it sent us. */
  warning: [ProtocolError];
  drain: [];
  /** A file transfer message (section 6.7), validated; files/ handles it. */
  file: [FileControl];
  /** A file data frame (section 6.7), its header checked; `data` may be kept (it is not reused). */
  file_data: [FileData];
  /** File data queued by sendFileData() fell below half its high-water mark. */
  file_drain: [];
  close: [PeerLinkClose];
}

export interface PeerLinkTimers {
  handshakeTimeoutMs?: number;
  keepaliveMs?: number;
  deadAfterMs?: number;
  typingRefreshMs?: number;
  typingExpiryMs?: number;
}

export interface PeerLinkOptions extends PeerLinkTimers {
  reqId: string;
  role: PeerRole;
  selfUser: string;
  /** The name the server gave in connect_result; the peer's hello must match it. */
  peerUser: string;
  peerIp: string;
}

export class PeerLink extends EventEmitter<PeerLinkEvents> {
  state: PeerLinkState = PeerLinkState.HANDSHAKING;
  readonly reqId: string;
  readonly role: PeerRole;
  readonly selfUser: string;
  readonly peerUser: string;
  readonly peerIp: string;
  /** Same on both ends of an honest link (section 6.3). */
  readonly verificationCode: string;
  readonly security: LinkSecurity;
  lastSentId = 0;
  lastDeliveredId = 0;
  lastReceivedId = 0;
  peerTyping = false;
  /** Round trip of the last keepalive ping, if any. */
  rttMs: number | null = null;
  /** Set by whoever made the link, before it opens (the ladder, section 6.6). */
  path: PeerPath = PeerPath.DIRECT;
  private readonly conn: FramedConnection<typeof inboundPeerMessages, PeerMessage>;
  private readonly out: FrameBatcher<PeerMessage>;
  private readonly timers: Required<PeerLinkTimers>;
  private readonly opened: Promise<void>;
  private ackDue = false;
  private invalidFrames = 0;
  private lastHeardAt = Date.now();
  private pingSentAt = 0;
  private pingCount = 0;
  private typingSentAt = 0;
  private typingSent = false;
  private typingTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private closeInfo: Omit<PeerLinkClose, 'lastDeliveredId' | 'lastSentId'> | null = null;

  /** `socket` has finished a TLS-PSK handshake (assertPskSession passed). */
  constructor(
    readonly socket: TLSSocket,
    options: PeerLinkOptions,
  ) {
    super();
    this.reqId = options.reqId;
    this.role = options.role;
    this.selfUser = options.selfUser;
    this.peerUser = options.peerUser;
    this.peerIp = options.peerIp;
    this.timers = {
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? PEER_HANDSHAKE_TIMEOUT_MS,
      keepaliveMs: options.keepaliveMs ?? PEER_KEEPALIVE_INTERVAL_MS,
      deadAfterMs: options.deadAfterMs ?? PEER_DEAD_AFTER_MS,
      typingRefreshMs: options.typingRefreshMs ?? PEER_TYPING_REFRESH_MS,
      typingExpiryMs: options.typingExpiryMs ?? PEER_TYPING_EXPIRY_MS,
    };
    this.verificationCode = verificationCode(socket);
    this.security = linkSecurity(socket);
    // Chat is latency-bound; batching already happens per tick (frame-batch.ts).
    socket.setNoDelay(true);
    this.conn = new FramedConnection(socket, inboundPeerMessages, undefined, { binaryFrames: true });
    this.out = new FrameBatcher((chunk) => this.conn.sendFrame(chunk));
    this.conn.on('message', (m) => this.onMessage(m));
    this.conn.on('invalid', (error, fatal) => this.onInvalid(error, fatal));
    this.conn.on('drain', () => this.emit('drain'));
    this.conn.on('binary', (payload) => this.onFileData(payload));
    this.conn.on('bulk_drain', () => this.emit('file_drain'));
    this.conn.on('close', (err) => this.onClose(err));
    // Registered after the decoder's own listener: runs once per read, after its messages.
    socket.on('data', () => this.afterRead());
    this.opened = new Promise<void>((resolve, reject) => {
      this.once('open', resolve);
      this.once('close', (info) => {
        // A drop before hello is a failed handshake (e.g. a replayed secret: the listener cuts it).
        const code = info.code === null || info.code === ErrorCode.DISCONNECTED ? ErrorCode.PEER_HANDSHAKE : info.code;
        reject(new ProtocolError(code, `peer link failed: ${info.reason}`));
      });
    });
    this.opened.catch(() => {}); // the caller may never ask
    this.handshakeTimer = setTimeout(
      () => this.fail(new ProtocolError(ErrorCode.PEER_HANDSHAKE, 'the peer did not say hello in time'), false),
      this.timers.handshakeTimeoutMs,
    );
    // The requester speaks first; the target answers only a hello it accepted, so the
    // requester's link opening means the target checked it too (section 6.3).
    if (this.role === 'requester') this.sendHello();
  }

  get isOpen(): boolean {
    return this.state === PeerLinkState.OPEN;
  }

  /** Resolves once the peer's hello checked out; rejects if the link ends first. */
  ready(): Promise<void> {
    return this.opened;
  }

  /** Bytes queued for the peer and not yet taken by the kernel. */
  get outputBacklogBytes(): number {
    return this.out.pendingBytes + this.conn.pendingOutputBytes;
  }

  /** True unless the connection owes a `drain` (its output is over the high-water mark). */
  get writable(): boolean {
    return !this.conn.needsDrain;
  }

  /** Queue a chat message; returns its id. Throws E_MESSAGE_TOO_LARGE, E_DISCONNECTED, E_RATE_LIMITED. */
  send(text: string): number {
    if (this.state !== PeerLinkState.OPEN) throw new ProtocolError(ErrorCode.DISCONNECTED, 'the peer link is not open');
    if (text.length === 0) throw new ProtocolError(ErrorCode.BAD_MESSAGE, 'empty message');
    const tooLarge = chatTextTooLarge(text);
    if (tooLarge) throw tooLarge;
    if (this.outputBacklogBytes > OUTPUT_QUEUE_BYTES.PEER_REFUSE_SEND) {
      throw new ProtocolError(ErrorCode.RATE_LIMITED, 'the peer is not keeping up; wait and try again', {
        retryAfterMs: 1_000,
      });
    }
    const id = ++this.lastSentId;
    this.out.add({ t: 'msg', id, text, ts: Date.now() });
    this.typingSent = false; // a message ends typing on the receiving side by itself
    return id;
  }

  /** Call on every keystroke (true) and when the input is cleared (false); sends only changes and refreshes. */
  setTyping(on: boolean): void {
    if (this.state !== PeerLinkState.OPEN) return;
    const now = Date.now();
    if (on && (!this.typingSent || now - this.typingSentAt >= this.timers.typingRefreshMs)) {
      this.typingSent = true;
      this.typingSentAt = now;
      this.out.add({ t: 'typing', on: true });
    } else if (!on && this.typingSent) {
      this.typingSent = false;
      this.out.add({ t: 'typing', on: false });
    }
  }

  /**
   * Queue a file transfer message (section 6.7); false if the link is not open. Most are
   * answers to the peer's messages: past the outbound cap it is not reading them, and the link
   * is cut as a slow consumer, as for pings (section 6.5).
   */
  sendFileControl(message: FileControl): boolean {
    if (this.state !== PeerLinkState.OPEN) return false;
    if (this.outputBacklogBytes > OUTPUT_QUEUE_BYTES.PEER_REFUSE_SEND) {
      this.fail(new ProtocolError(ErrorCode.SLOW_CONSUMER, `${this.peerUser} is not reading what it asks for`), false);
      return false;
    }
    this.out.add(message);
    return true;
  }

  /**
   * Queue an encoded file data frame behind every chat frame (section 6.7). Returns false when
   * the caller should wait for 'file_drain' (or the link is not open).
   */
  sendFileData(frame: Buffer): boolean {
    if (this.state !== PeerLinkState.OPEN) return false;
    this.out.flush(); // control messages queued before this data go first
    return this.conn.sendBulk(frame);
  }

  /** File data the receiver's disk has not caught up with: stop reading (TCP pushes back), then resume. */
  pauseReading(): void {
    this.conn.pause();
  }
  resumeReading(): void {
    this.conn.resume();
  }

  /** End the session: the peer gets `bye` at once; `close` fires when the socket is shut. */
  close(reason = 'closed'): void {
    if (this.state === PeerLinkState.CLOSING || this.state === PeerLinkState.CLOSED) return;
    this.closeInfo ??= { reason, code: null, byPeer: false };
    this.state = PeerLinkState.CLOSING;
    this.out.add({ t: 'bye', reason: reason.slice(0, 200) });
    this.out.flush();
    this.conn.end();
  }

  private onMessage(m: Inbound): void {
    if (this.state === PeerLinkState.HANDSHAKING) return this.onHello(m);
    if (this.state !== PeerLinkState.OPEN) return;
    switch (m.t) {
      case 'msg':
        return this.onChat(m);
      case 'ack':
        if (m.upTo > this.lastSentId || m.upTo < this.lastDeliveredId) {
          return this.onInvalid(
            new ProtocolError(ErrorCode.BAD_MESSAGE, `ack ${m.upTo} is outside 0..${this.lastSentId}`),
            false,
          );
        }
        if (m.upTo > this.lastDeliveredId) {
          this.lastDeliveredId = m.upTo;
          this.emit('delivered', m.upTo);
        }
        return;
      case 'typing':
        return this.setPeerTyping(m.on);
      case 'ping':
        // A peer that asks for pongs and never reads them would grow our output without
        // bound: past the outbound cap the link is cut, as a slow consumer (section 6.5).
        if (this.outputBacklogBytes > OUTPUT_QUEUE_BYTES.PEER_REFUSE_SEND) {
          return this.fail(
            new ProtocolError(ErrorCode.SLOW_CONSUMER, `${this.peerUser} is not reading what it asks for`),
            false,
          );
        }
        this.out.add({ t: 'pong', n: m.n });
        return;
      case 'pong':
        if (m.n === this.pingCount && this.pingSentAt > 0) this.rttMs = Date.now() - this.pingSentAt;
        return;
      case 'bye':
        this.closeInfo ??= { reason: sanitizeLine(m.reason) || 'the peer left', code: null, byPeer: true };
        this.state = PeerLinkState.CLOSING;
        this.conn.end();
        return;
      case 'error':
        return this.onPeerError(m);
      case 'hello':
        return this.onInvalid(new ProtocolError(ErrorCode.BAD_MESSAGE, 'hello after the handshake'), false);
      case 'file_offer':
      case 'file_accept':
      case 'file_start':
      case 'file_ack':
      case 'file_done':
      case 'file_cancel':
      case 'file_refuse':
        this.emit('file', m); // section 6.7: files/transfers.ts
        return;
    }
  }

  private onFileData(payload: Buffer): void {
    if (this.state !== PeerLinkState.OPEN) {
      if (this.state === PeerLinkState.HANDSHAKING)
        this.onInvalid(new ProtocolError(ErrorCode.BAD_FRAME, 'file data before hello'), false);
      return;
    }
    const decoded = decodeFileData(payload);
    if (decoded instanceof ProtocolError) return this.onInvalid(decoded, false);
    this.emit('file_data', decoded);
  }

  /** Section 6.3: the first message each way is hello; its user must be the one the server named. */
  private onHello(m: Inbound): void {
    if (m.t === 'error') {
      return this.fail(
        new ProtocolError(isErrorCode(m.code) ? m.code : ErrorCode.PEER_HANDSHAKE, sanitizeLine(m.message)),
        true,
      );
    }
    if (m.t !== 'hello')
      return this.fail(new ProtocolError(ErrorCode.PEER_HANDSHAKE, `expected hello, got ${m.t}`), false);
    if (m.proto !== PROTOCOL_VERSION) {
      return this.fail(
        new ProtocolError(ErrorCode.VERSION, `peer speaks protocol ${m.proto}, we speak ${PROTOCOL_VERSION}`),
        false,
      );
    }
    if (!sameUser(m.user, this.peerUser)) {
      return this.fail(
        new ProtocolError(
          ErrorCode.PEER_HANDSHAKE,
          `peer says it is ${m.user}, the server introduced ${this.peerUser}`,
        ),
        false,
      );
    }
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    if (this.role === 'target') this.sendHello();
    this.state = PeerLinkState.OPEN;
    this.startKeepalive();
    this.emit('open');
  }

  private sendHello(): void {
    this.out.add({ t: 'hello', proto: PROTOCOL_VERSION, user: this.selfUser });
  }

  /** Section 6.4: ids count up by one; oversized text is refused by id and still counted. */
  private onChat(m: Extract<Inbound, { t: 'msg' }>): void {
    if (m.id !== this.lastReceivedId + 1) {
      return this.fail(
        new ProtocolError(
          ErrorCode.BAD_MESSAGE,
          `message id ${m.id} out of order (expected ${this.lastReceivedId + 1})`,
        ),
        false,
      );
    }
    this.lastReceivedId = m.id;
    this.ackDue = true;
    const tooLarge = chatTextTooLarge(m.text);
    if (tooLarge) {
      // The error goes out before the ack that covers this id, so the sender can mark it failed.
      this.out.add({ t: 'error', code: tooLarge.code, message: tooLarge.message, ref: m.id });
      return;
    }
    if (this.peerTyping) this.setPeerTyping(false);
    let text = m.text;
    if (needsSanitizing(text)) {
      text = sanitizeText(text);
      // Say so rather than show an empty line (an unterminated sequence eats the rest).
      if (text.trim() === '') text = EMPTIED_TEXT;
    }
    this.emit('message', { id: m.id, text, ts: m.ts });
  }

  private onPeerError(m: Extract<Inbound, { t: 'error' }>): void {
    const error = new ProtocolError(isErrorCode(m.code) ? m.code : ErrorCode.INTERNAL, sanitizeLine(m.message));
    if (m.ref !== undefined && m.ref <= this.lastSentId) this.emit('rejected', { id: m.ref, error });
    else this.emit('warning', error);
  }

  /** One cumulative ack per read, however many messages it carried (section 6.4). */
  private afterRead(): void {
    this.lastHeardAt = Date.now();
    if (this.ackDue && this.state === PeerLinkState.OPEN) {
      this.ackDue = false;
      this.out.add({ t: 'ack', upTo: this.lastReceivedId });
    }
  }

  private onInvalid(error: ProtocolError, fatal: boolean): void {
    if (fatal) return this.fail(error, false);
    // Section 6.3: until both hellos are exchanged, any invalid frame (a hello whose user
    // breaks the name rules, say) ends the handshake at once; nothing else could follow it.
    if (this.state === PeerLinkState.HANDSHAKING) {
      return this.fail(new ProtocolError(ErrorCode.PEER_HANDSHAKE, `bad hello: ${error.message}`), false);
    }
    this.invalidFrames += 1;
    this.emit('warning', error);
    if (this.invalidFrames > MAX_INVALID_PEER_FRAMES)
      return this.fail(new ProtocolError(error.code, 'too many invalid frames'), false);
    this.out.add({ t: 'error', code: error.code, message: error.message.slice(0, 500) });
  }

  private setPeerTyping(on: boolean): void {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = null;
    // A lost or forgotten `typing off` must not leave the indicator on forever.
    if (on) this.typingTimer = setTimeout(() => this.setPeerTyping(false), this.timers.typingExpiryMs);
    if (on !== this.peerTyping) {
      this.peerTyping = on;
      this.emit('typing', on);
    }
  }

  /**
   * Section 6.5: ping after a silent interval; a link silent for deadAfterMs is dead. Looked
   * at KEEPALIVE_CHECKS_PER_INTERVAL times an interval, so death is seen within a third of
   * an interval of deadAfterMs rather than up to a whole one late.
   */
  private startKeepalive(): void {
    this.keepaliveTimer = setInterval(() => {
      const now = Date.now();
      const silentMs = now - this.lastHeardAt;
      if (silentMs >= this.timers.deadAfterMs) {
        this.fail(
          new ProtocolError(
            ErrorCode.TIMEOUT,
            `no sign of life from ${this.peerUser} for ${Math.round(silentMs / 1000)} s`,
          ),
          true,
        );
      } else if (silentMs >= this.timers.keepaliveMs && now - this.pingSentAt >= this.timers.keepaliveMs) {
        this.pingSentAt = now;
        this.out.add({ t: 'ping', n: ++this.pingCount });
      }
    }, this.timers.keepaliveMs / KEEPALIVE_CHECKS_PER_INTERVAL);
    this.keepaliveTimer.unref();
  }

  /** Tell the peer why (unless it is the one that failed), then cut the link. */
  private fail(error: ProtocolError, byPeer: boolean): void {
    if (this.state === PeerLinkState.CLOSED) return;
    this.closeInfo ??= { reason: error.message, code: error.code, byPeer };
    // Already ending (more bad frames from the same read, say): what is queued still goes out.
    if (this.state === PeerLinkState.CLOSING && this.conn.isOpen) return;
    if (!byPeer && this.conn.isOpen) {
      this.out.add({ t: 'error', code: error.code, message: error.message.slice(0, 500) });
      this.out.flush();
      this.state = PeerLinkState.CLOSING;
      this.conn.end();
    } else {
      this.conn.destroy(error);
    }
  }

  private onClose(err: Error | undefined): void {
    this.state = PeerLinkState.CLOSED;
    for (const timer of [this.handshakeTimer, this.keepaliveTimer, this.typingTimer]) if (timer) clearTimeout(timer);
    this.out.discard();
    // A relayed link drops when the server does (section 6.6): say that, not "link lost".
    const lost = this.path === PeerPath.RELAY ? 'the server relaying this chat went away or cut it' : 'link lost';
    const info = this.closeInfo ?? {
      reason: err ? `${lost}: ${err.message}` : lost,
      code: ErrorCode.DISCONNECTED,
      byPeer: true,
    };
    this.emit('close', { ...info, lastDeliveredId: this.lastDeliveredId, lastSentId: this.lastSentId });
    this.removeAllListeners();
  }
}

/** Shown for a message that sanitising left empty (section 6.5). */
export const EMPTIED_TEXT = '[a message of only control characters or escape sequences, removed]';

/** Checks of the keepalive timer per keepalive interval. */
const KEEPALIVE_CHECKS_PER_INTERVAL = 3;
