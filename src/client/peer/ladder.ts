/**
 * The connection ladder (PROTOCOL.md section 6.6): after `accepted`, reach the other side by
 * whichever works (direct, reverse, relay), racing with short deadlines. Only the requester
 * chooses: it sends its hello on one link whose TLS-PSK handshake completed (direct first,
 * once direct has settled, then whichever came first); the target takes the link where a
 * hello arrives. Every other candidate is closed. When every rung has failed, the error says
 * what happened on each, in plain words, on both sides.
 */
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { P2PClient } from '../client.ts';
import {
  PEER_DIRECT_DEADLINE_MS,
  PEER_HANDSHAKE_TIMEOUT_MS,
  PEER_LADDER_TIMEOUT_MS,
  PEER_RELAY_DELAY_MS,
  PEER_REVERSE_DEADLINE_MS,
} from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { Msg, ServerMessage } from '../../net/messages.ts';
import { derivePeerKey } from '../../net/peer-tls.ts';
import { dialPskSocket } from './dial.ts';
import { PeerLink, type PeerLinkTimers } from './link.ts';
import { PeerPath } from './path.ts';
import type { PeerListener } from './listener.ts';
import { pskOverStream } from './psk-stream.ts';
import { openRelay } from '../../net/relay-dial.ts';
import { describeLadderFailure } from './ladder-words.ts';

type ConnectResult = Msg<ServerMessage, 'connect_result'>;

/** The other side's dial counts as failed this long after its own deadline if it never arrived. */
const OTHER_SIDE_SLACK_MS = 1_000;

export interface LadderDeadlines {
  directMs: number;
  reverseMs: number;
  relayDelayMs: number;
  timeoutMs: number;
}

export const DEFAULT_LADDER_DEADLINES: LadderDeadlines = {
  directMs: PEER_DIRECT_DEADLINE_MS,
  reverseMs: PEER_REVERSE_DEADLINE_MS,
  relayDelayMs: PEER_RELAY_DELAY_MS,
  timeoutMs: PEER_LADDER_TIMEOUT_MS,
};

export interface LadderContext {
  client: P2PClient;
  listener: PeerListener | null;
  selfUser: string;
  timers?: PeerLinkTimers;
  dialAttempts?: number;
  dialRetryBaseMs?: number;
  deadlines?: Partial<LadderDeadlines>;
}

export class Ladder {
  readonly reqId: string;
  readonly role: 'requester' | 'target';
  readonly peerUser: string;
  readonly failures = new Map<PeerPath, ProtocolError>();
  private readonly secret: Buffer;
  private readonly key: Buffer;
  private readonly deadlines: LadderDeadlines;
  private readonly abort = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  /** Requester: TLS-done sockets not chosen (yet). Target: links waiting for a hello. */
  private readonly sockets: Array<{ rung: PeerPath; socket: TLSSocket }> = [];
  private readonly waiting = new Set<PeerLink>();
  private helloing: PeerLink | null = null;
  private relayStarted = false;
  private decided = false;
  private settle!: { resolve: (link: PeerLink) => void; reject: (err: ProtocolError) => void };
  readonly done: Promise<PeerLink>;

  constructor(
    private readonly ctx: LadderContext,
    private readonly result: ConnectResult,
  ) {
    this.reqId = result.reqId;
    this.role = result.role;
    this.peerUser = result.peer.user;
    this.secret = Buffer.from(result.secret as string, 'base64url');
    this.key = derivePeerKey(this.secret, this.reqId);
    this.deadlines = { ...DEFAULT_LADDER_DEADLINES, ...ctx.deadlines };
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => {});
  }

  /** Climb: every rung starts now or on its timer. */
  start(): Promise<PeerLink> {
    const { directMs, reverseMs, relayDelayMs, timeoutMs } = this.deadlines;
    const ours: PeerPath = this.role === 'requester' ? PeerPath.DIRECT : PeerPath.REVERSE;
    const theirs: PeerPath = this.role === 'requester' ? PeerPath.REVERSE : PeerPath.DIRECT;
    this.later(timeoutMs, () =>
      this.fail(new ProtocolError(ErrorCode.TIMEOUT, `no path within ${Math.round(timeoutMs / 1000)} s`)),
    );
    this.later(relayDelayMs, () => void this.startRelay());
    // The other side's dial: we cannot see it fail, only not arrive.
    this.later((theirs === PeerPath.DIRECT ? directMs : reverseMs) + OTHER_SIDE_SLACK_MS, () =>
      this.rungFailed(theirs, new ProtocolError(ErrorCode.UNREACHABLE, 'never arrived')),
    );
    this.ctx.listener?.expect({
      reqId: this.reqId,
      secret: this.secret,
      selfUser: this.ctx.selfUser,
      peerUser: this.peerUser,
      peerIp: this.result.peer.ip,
      // The requester's listener hands the reverse socket to us; the target's makes the link itself (offerLink).
      ...(this.role === 'requester'
        ? { onSecure: (socket: TLSSocket) => this.onSocket(PeerPath.REVERSE, socket) }
        : {}),
    });
    if (this.result.port === undefined) {
      this.rungFailed(ours, new ProtocolError(ErrorCode.PEER_NO_LISTENER, 'no listener port'));
    } else {
      dialPskSocket({
        ...this.ctx.timers,
        host: this.result.peer.ip,
        port: this.result.port,
        reqId: this.reqId,
        secret: this.secret,
        attempts: this.ctx.dialAttempts,
        retryBaseMs: this.ctx.dialRetryBaseMs,
        deadlineMs: ours === PeerPath.DIRECT ? directMs : reverseMs,
      }).then(
        (socket) => this.onSocket(ours, socket),
        (err: ProtocolError) => this.rungFailed(ours, err),
      );
    }
    return this.done;
  }

  /** Target: the listener completed a direct link (TLS and hellos); it wins unless one already did. */
  offerLink(link: PeerLink): void {
    link.path = PeerPath.DIRECT;
    if (this.decided) link.close('another path was chosen');
    else this.win(link);
  }

  /** Stop climbing (the manager closed). */
  cancel(reason: string): void {
    this.fail(new ProtocolError(ErrorCode.DISCONNECTED, reason));
  }

  private onSocket(rung: PeerPath, socket: TLSSocket): void {
    if (this.decided) {
      socket.destroy();
      return;
    }
    if (this.role === 'target') {
      const link = this.makeLink(socket, rung);
      this.waiting.add(link);
      link.ready().then(
        () => this.win(link),
        (err: ProtocolError) => {
          this.waiting.delete(link);
          this.rungFailed(rung, err);
        },
      );
      return;
    }
    const entry = { rung, socket };
    this.sockets.push(entry);
    socket.once('close', () => {
      const i = this.sockets.indexOf(entry);
      if (i >= 0) this.sockets.splice(i, 1);
    });
    this.choose();
  }

  /** Requester: hello on the best completed link, direct preferred while it may still come. */
  private choose(): void {
    if (this.decided || this.helloing) return;
    let pick = this.sockets.find((s) => s.rung === PeerPath.DIRECT);
    if (!pick && this.failures.has(PeerPath.DIRECT)) pick = this.sockets[0];
    if (!pick) return;
    this.sockets.splice(this.sockets.indexOf(pick), 1);
    const link = this.makeLink(pick.socket, pick.rung);
    this.helloing = link;
    const rung = pick.rung;
    link.ready().then(
      () => this.win(link),
      (err: ProtocolError) => {
        this.helloing = null;
        this.rungFailed(rung, err);
        this.choose();
      },
    );
  }

  private makeLink(socket: TLSSocket, rung: PeerPath): PeerLink {
    const link = new PeerLink(socket, {
      ...this.ctx.timers,
      reqId: this.reqId,
      role: this.role,
      selfUser: this.ctx.selfUser,
      peerUser: this.peerUser,
      peerIp: this.result.peer.ip,
    });
    link.path = rung;
    return link;
  }

  private async startRelay(): Promise<void> {
    if (this.relayStarted || this.decided) return;
    this.relayStarted = true;
    const token = this.result.relay;
    if (!token)
      return this.rungFailed(
        PeerPath.RELAY,
        new ProtocolError(ErrorCode.PEER_NO_PATH, 'the server does not relay chats'),
      );
    let stream: Duplex | null = null;
    try {
      const fingerprint = this.ctx.client.fingerprint;
      if (!fingerprint) throw new ProtocolError(ErrorCode.DISCONNECTED, 'not connected to the server');
      const reply = await this.ctx.client.request({ t: 'relay_request', reqId: this.reqId, token });
      if (reply.t !== 'relay_ticket')
        throw new ProtocolError(ErrorCode.BAD_MESSAGE, `expected relay_ticket, got ${reply.t}`);
      // The relay is the node this client is logged in on, which issued the ticket (section 3.7).
      const { address, port } = this.ctx.client.server;
      stream = await openRelay({
        host: address,
        port,
        fingerprint,
        ticket: reply.ticket,
        timeoutMs: this.deadlines.timeoutMs,
        signal: this.abort.signal,
      });
      const tlsRole = this.role === 'requester' ? 'client' : 'server';
      const socket = await pskOverStream(
        stream,
        tlsRole,
        this.reqId,
        this.key,
        this.ctx.timers?.handshakeTimeoutMs ?? PEER_HANDSHAKE_TIMEOUT_MS,
      );
      this.onSocket(PeerPath.RELAY, socket);
    } catch (err) {
      stream?.destroy();
      this.rungFailed(
        PeerPath.RELAY,
        err instanceof ProtocolError ? err : new ProtocolError(ErrorCode.INTERNAL, String(err)),
      );
    }
  }

  private rungFailed(rung: PeerPath, err: ProtocolError): void {
    if (this.decided) return;
    if (!this.failures.has(rung)) this.failures.set(rung, err);
    // Our own dial failed: no reason to wait for the relay's timer.
    if (
      (rung === PeerPath.DIRECT && this.role === 'requester') ||
      (rung === PeerPath.REVERSE && this.role === 'target')
    )
      void this.startRelay();
    if (this.role === 'requester') this.choose();
    const pending = this.helloing !== null || this.sockets.length > 0 || this.waiting.size > 0;
    if (!pending && this.failures.size === 3) this.fail(null);
  }

  private win(link: PeerLink): void {
    if (this.decided) {
      link.close('another path was chosen');
      return;
    }
    this.finish();
    this.settle.resolve(link);
  }

  private fail(cause: ProtocolError | null): void {
    if (this.decided) return;
    this.finish();
    this.settle.reject(
      new ProtocolError(ErrorCode.PEER_NO_PATH, describeLadderFailure(this.role, this.result, this.failures, cause)),
    );
  }

  /** Close every loser, the relay attempt and the listener's grant. */
  private finish(): void {
    this.decided = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.abort.abort();
    for (const { socket } of this.sockets.splice(0)) socket.destroy();
    for (const link of this.waiting) if (!link.isOpen) link.close('another path was chosen');
    this.waiting.clear();
    if (this.helloing && !this.helloing.isOpen) this.helloing.close('gave up');
    this.ctx.listener?.forget(this.reqId);
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
