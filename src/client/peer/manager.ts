/**
 * Peer sessions for one P2PClient (PROTOCOL.md section 6): asks the server for peers, turns
 * its prompts into events, answers them, and holds every open PeerLink. The links do not
 * depend on the server: when it goes away, pending requests and prompts end (their answers
 * can no longer arrive) but open sessions carry on, and the listener keeps its grants.
 *
 * Usage: `const peers = new PeerManager(client); await peers.start();` before `client.login()`,
 * so the listener's port is advertised in the login.
 */
import { EventEmitter } from 'eventemitter3';
import type { P2PClient } from '../client.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { Msg, ServerMessage, UserEntry } from '../../net/messages.ts';
import { sanitizeLine } from '../../net/sanitize.ts';
import { Ladder, type LadderDeadlines } from './ladder.ts';
import type { PeerLink, PeerLinkClose, PeerLinkTimers } from './link.ts';
import { PeerListener, type PeerListenerEvents, type PeerListenerOptions } from './listener.ts';

type ConnectResult = Msg<ServerMessage, 'connect_result'>;
export type PeerOutcome = ConnectResult['outcome'];

export interface PeerManagerOptions extends Omit<PeerListenerOptions, 'link'> {
  link?: PeerLinkTimers;
  dialAttempts?: number;
  dialRetryBaseMs?: number;
  /** The connection ladder's deadlines (section 6.6); tests shorten them. */
  ladder?: Partial<LadderDeadlines>;
}

export interface PeerPrompt {
  reqId: string;
  from: UserEntry;
  /** Local clock time after which the server counts the prompt as declined. */
  expiresAt: number;
}

export type PeerRequestResult =
  | { outcome: 'accepted'; link: PeerLink }
  | { outcome: Exclude<PeerOutcome, 'accepted'>; reason: string; peer: UserEntry }
  | { outcome: 'ambiguous'; ip: string; candidates: UserEntry[] };

/** Our request, as the server holds it until the target answers. */
export interface PendingRequest {
  reqId: string;
  user: string;
  ip: string;
  expiresAt: number;
}

export interface PeerManagerEvents {
  /** Someone asks to chat: answer with accept() or decline(). */
  prompt: [PeerPrompt];
  /** A prompt ended without our answer being needed any more (cancelled, timed out, requester left, server lost). */
  prompt_closed: [{ reqId: string; outcome: PeerOutcome; reason: string }];
  /** Our request reached the target; cancel it with cancelRequest(reqId). */
  pending: [PendingRequest];
  /** A session is open (either role). */
  session: [PeerLink];
  session_closed: [PeerLink, PeerLinkClose];
  /** The listener turned a connection away. */
  refused: PeerListenerEvents['refused'];
  /** The listener's socket reported an error (it keeps listening if it can). */
  listener_error: [Error];
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: ProtocolError) => void;
}

export class PeerManager extends EventEmitter<PeerManagerEvents> {
  /** Open sessions by reqId. */
  readonly sessions = new Map<string, PeerLink>();
  private listener: PeerListener | null = null;
  private readonly prompts = new Map<string, PeerPrompt>();
  /** Our requests waiting for connect_result, and results that came before we waited. */
  private readonly outgoing = new Map<string, Waiter<ConnectResult>>();
  private readonly early = new Map<string, ConnectResult>();
  /** Accepted prompts waiting for the requester to dial in. */
  private readonly incoming = new Map<string, Waiter<PeerLink>>();
  /** Accepted requests still climbing the connection ladder (section 6.6), either role. */
  private readonly ladders = new Map<string, Ladder>();
  private readonly onServerMessage = (m: ServerMessage) => this.onMessage(m);
  private readonly onDisconnected = () => this.onServerLost();

  constructor(
    readonly client: P2PClient,
    private readonly options: PeerManagerOptions = {},
  ) {
    super();
    client.on('message', this.onServerMessage);
    client.on('disconnected', this.onDisconnected);
  }

  /** Start the listener and set client.peerPort. Call before login. */
  async start(): Promise<number> {
    if (this.listener) return this.listener.port;
    const listener = await PeerListener.start({ ...this.options, link: this.options.link });
    listener.on('link', (link) => this.onIncomingLink(link));
    listener.on('refused', (info) => this.emit('refused', info));
    listener.on('error', (err) => this.emit('listener_error', err));
    listener.on('expired', (reqId) =>
      this.settleIncoming(reqId, new ProtocolError(ErrorCode.TIMEOUT, 'the requester never connected')),
    );
    this.listener = listener;
    this.client.peerPort = listener.port;
    return listener.port;
  }

  get port(): number | null {
    return this.listener?.port ?? null;
  }

  /** Prompts waiting for our answer. */
  get pendingPrompts(): PeerPrompt[] {
    return [...this.prompts.values()];
  }

  /**
   * Ask for a session (section 6.1) and, if accepted, climb the connection ladder (6.6).
   * Resolves with the open link, the outcome, or the candidates when an IP is shared; rejects
   * with the server's error (E_PEER_OFFLINE, E_PEER_SELF, ...) or E_PEER_NO_PATH, whose
   * message says what failed on each rung.
   * `onPending` hears of this request once the server has it, before any outcome.
   */
  async requestPeer(
    target: { user: string } | { ip: string },
    onPending?: (pending: PendingRequest) => void,
  ): Promise<PeerRequestResult> {
    const reply = await this.client.request({ t: 'connect', ...target });
    if (reply.t === 'connect_ambiguous') return { outcome: 'ambiguous', ip: reply.ip, candidates: reply.candidates };
    if (reply.t !== 'connect_pending')
      throw new ProtocolError(ErrorCode.BAD_MESSAGE, `expected connect_pending, got ${reply.t}`);
    const result = await this.waitForResult(reply, onPending);
    if (result.outcome !== 'accepted')
      return { outcome: result.outcome, reason: sanitizeLine(result.reason), peer: result.peer };
    if (!result.secret) throw new ProtocolError(ErrorCode.BAD_MESSAGE, 'accepted without a secret');
    const link = await this.climb(result);
    this.adopt(link);
    return { outcome: 'accepted', link };
  }

  /** Withdraw our pending request; requestPeer then resolves with `cancelled`. */
  async cancelRequest(reqId: string): Promise<void> {
    await this.client.request({ t: 'connect_cancel', reqId });
  }

  /**
   * Accept a prompt; resolves with the open link once a rung of the ladder (section 6.6)
   * carried the requester's hello. Rejects if the request ended first (E_TIMEOUT,
   * E_PEER_OFFLINE, ...), or with E_PEER_NO_PATH when no rung worked.
   */
  async accept(reqId: string): Promise<PeerLink> {
    if (!this.prompts.has(reqId)) throw new ProtocolError(ErrorCode.PEER_UNKNOWN_REQUEST, 'no such prompt');
    // Wait before answering: the requester may dial the moment the server tells it.
    const linked = new Promise<PeerLink>((resolve, reject) => this.incoming.set(reqId, { resolve, reject }));
    linked.catch(() => {});
    try {
      await this.client.request({ t: 'connect_answer', reqId, accept: true });
    } catch (err) {
      this.settleIncoming(reqId, err as ProtocolError);
    }
    return linked;
  }

  async decline(reqId: string): Promise<void> {
    this.prompts.delete(reqId);
    await this.client.request({ t: 'connect_answer', reqId, accept: false });
  }

  /** Say bye to every peer, stop the listener, stop following the client. */
  async close(): Promise<void> {
    this.client.off('message', this.onServerMessage);
    this.client.off('disconnected', this.onDisconnected);
    this.onServerLost('the peer manager closed');
    for (const ladder of [...this.ladders.values()]) ladder.cancel('the peer manager closed');
    for (const reqId of [...this.incoming.keys()])
      this.settleIncoming(reqId, new ProtocolError(ErrorCode.DISCONNECTED, 'closed'));
    const closing = [...this.sessions.values()].map(
      (link) =>
        new Promise<void>((resolve) => {
          link.once('close', () => resolve());
          link.close('closed');
        }),
    );
    await Promise.all(closing);
    this.listener?.close();
    this.listener = null;
  }

  private onMessage(message: ServerMessage): void {
    if (message.t === 'connect_prompt') {
      const prompt = { reqId: message.reqId, from: message.from, expiresAt: Date.now() + message.expiresInMs };
      this.prompts.set(message.reqId, prompt);
      this.emit('prompt', prompt);
    } else if (message.t === 'connect_result') {
      if (message.role === 'target') this.onTargetResult(message);
      else this.onRequesterResult(message);
    }
  }

  private onRequesterResult(result: ConnectResult): void {
    const waiter = this.outgoing.get(result.reqId);
    if (!waiter) {
      this.early.set(result.reqId, result);
      return;
    }
    this.outgoing.delete(result.reqId);
    waiter.resolve(result);
  }

  /** As target: an accepted result carries the secret; climb the ladder from our side (section 6.6). */
  private onTargetResult(result: ConnectResult): void {
    const prompted = this.prompts.delete(result.reqId);
    if (result.outcome === 'accepted' && result.secret && this.client.session) {
      this.climb(result).then(
        (link) => {
          this.adopt(link);
          const waiter = this.incoming.get(link.reqId);
          this.incoming.delete(link.reqId);
          waiter?.resolve(link);
        },
        (err: ProtocolError) => this.settleIncoming(result.reqId, err),
      );
      return;
    }
    const reason = sanitizeLine(result.reason);
    const code =
      result.outcome === 'timeout'
        ? ErrorCode.TIMEOUT
        : result.outcome === 'offline'
          ? ErrorCode.PEER_OFFLINE
          : ErrorCode.PEER_UNKNOWN_REQUEST;
    this.settleIncoming(result.reqId, new ProtocolError(code, reason));
    if (prompted) this.emit('prompt_closed', { reqId: result.reqId, outcome: result.outcome, reason });
  }

  private waitForResult(
    pending: Msg<ServerMessage, 'connect_pending'>,
    onPending?: (pending: PendingRequest) => void,
  ): Promise<ConnectResult> {
    const info = {
      reqId: pending.reqId,
      user: pending.user,
      ip: pending.ip,
      expiresAt: Date.now() + pending.expiresInMs,
    };
    onPending?.(info);
    const early = this.early.get(pending.reqId);
    this.early.delete(pending.reqId);
    if (early) return Promise.resolve(early);
    this.emit('pending', info);
    return new Promise((resolve, reject) => this.outgoing.set(pending.reqId, { resolve, reject }));
  }

  /** Run the ladder for an accepted request; resolves with the one link that won. */
  private async climb(result: ConnectResult): Promise<PeerLink> {
    const ladder = new Ladder(
      {
        client: this.client,
        listener: this.listener,
        selfUser: this.selfUser(),
        timers: this.options.link,
        dialAttempts: this.options.dialAttempts,
        dialRetryBaseMs: this.options.dialRetryBaseMs,
        deadlines: this.options.ladder,
      },
      result,
    );
    this.ladders.set(result.reqId, ladder);
    try {
      return await ladder.start();
    } finally {
      this.ladders.delete(result.reqId);
    }
  }

  private onIncomingLink(link: PeerLink): void {
    const ladder = this.ladders.get(link.reqId);
    if (ladder) {
      ladder.offerLink(link); // the ladder's promise adopts it
      return;
    }
    this.adopt(link);
    const waiter = this.incoming.get(link.reqId);
    this.incoming.delete(link.reqId);
    waiter?.resolve(link);
  }

  private settleIncoming(reqId: string, error: ProtocolError): void {
    const waiter = this.incoming.get(reqId);
    this.incoming.delete(reqId);
    waiter?.reject(error);
  }

  private adopt(link: PeerLink): void {
    this.sessions.set(link.reqId, link);
    link.once('close', (info) => {
      this.sessions.delete(link.reqId);
      this.emit('session_closed', link, info);
    });
    this.emit('session', link);
  }

  /** The server is gone: nothing pending can finish. Open sessions are not touched. */
  private onServerLost(reason = 'lost the connection to the server'): void {
    const error = new ProtocolError(ErrorCode.DISCONNECTED, reason);
    for (const waiter of this.outgoing.values()) waiter.reject(error);
    this.outgoing.clear();
    this.early.clear();
    for (const prompt of this.prompts.values())
      this.emit('prompt_closed', { reqId: prompt.reqId, outcome: 'offline', reason });
    this.prompts.clear();
    // Accepted prompts keep waiting: the listener may still get the dial (its grant's TTL ends it).
  }

  private selfUser(): string {
    const session = this.client.session;
    if (!session) throw new ProtocolError(ErrorCode.NOT_AUTHENTICATED, 'log in first');
    return session.user;
  }
}
