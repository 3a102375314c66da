/**
 * Peer requests across nodes (PROTOCOL.md 6.1; docs/CLUSTER.md "Peer requests and the
 * relay"). Requests between two users on this node go to the one-node PeerBroker unchanged.
 * A request to a user on another node lives on the requester's node (its timer, the secret,
 * the outcome); the target's node holds the prompt, checks what only it can (the target is
 * still there, has a listener, is not over its prompt cap), and carries the target's answer
 * or cancel back. Node to node messages go over `link.send` as `peers.*` topics.
 *
 * The secret crosses Redis in `peers.result` (docs/CLUSTER.md says what that means). The
 * requester learns the outcome only after the target's node delivered it (`peers.delivered`),
 * so the target knows the secret before the requester's handshake arrives, as on one node.
 */
import { randomBytes } from 'node:crypto';
import {
  MAX_PENDING_PEER_PROMPTS,
  MAX_PENDING_PEER_REQUESTS,
  PEER_REQ_ID_BYTES,
  PEER_REQUEST_TIMEOUT_MS,
  PEER_REQUESTS_PER_MINUTE,
  PEER_SECRET_BYTES,
  RATE_WINDOW_MS,
} from '../../net/constants.ts';
import { normalizeIp } from '../../net/address.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { ClientMessage, Msg, ServerMessage, UserEntry } from '../../net/messages.ts';
import { userKey } from '../../net/names.ts';
import {
  PeerBroker,
  PeerOutcome,
  unknownRequest,
  type PeerBrokerHost,
  type PeerBrokerOptions,
  type PeerIntroductions,
  type PendingCounts,
} from '../peers/broker.ts';
import { WindowLimiter } from '../rate-limit.ts';
import type { OnlineSession } from '../session.ts';
import { NODE_HEARTBEAT_MS, NODE_TTL_MS, type ClusterLink } from './link.ts';
import type { ClusterPresence, RemoteUser } from './presence.ts';
import type { ClusterRelay } from './relay.ts';
import { bus, type refusable, type Topic } from './peers-bus.ts';

/**
 * The target's node confirms a prompt within this, or the target counts as offline: a node
 * that stopped or died is noticed within NODE_TTL_MS + NODE_HEARTBEAT_MS.
 */
export const PEER_PROMPT_REPLY_MS = NODE_TTL_MS + NODE_HEARTBEAT_MS;

/** The requester hears the outcome at most this long after the target's node was told, delivered or not. */
export const PEER_RESULT_DELIVERY_WAIT_MS = 2_000;

/** A request of a session here to a user on another node. */
interface Outgoing {
  readonly reqId: string;
  readonly requester: OnlineSession;
  readonly target: RemoteUser;
  /** The `connect` id, answered with connect_pending once the target's node prompted. */
  readonly re: number;
  readonly expiresAt: number;
  readonly timer: NodeJS.Timeout;
  /** Until the target's node confirms the prompt. */
  readonly promptTimer: NodeJS.Timeout;
  prompted: boolean;
}

/** A prompt to a session here from a user on another node. */
interface Incoming {
  readonly reqId: string;
  readonly node: string;
  readonly target: OnlineSession;
  readonly from: UserEntry;
  answered: boolean;
}

export interface ClusterPeersHost extends Omit<PeerBrokerHost, 'limiter' | 'elsewhere'> {
  presence: ClusterPresence;
  /** Relays a circuit whose halves are on two nodes; none without it (or with the relay off). */
  relay: ClusterRelay | null;
}

export function clusterPeers(link: ClusterLink, host: ClusterPeersHost, options: PeerBrokerOptions = {}): ClusterPeers {
  return new ClusterPeers(link, host, options);
}

export class ClusterPeers implements PeerIntroductions, PendingCounts {
  private readonly local: PeerBroker;
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly incoming = new Map<string, Incoming>();
  private readonly limiter: WindowLimiter;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly maxPrompts: number;
  /** Bus messages dropped because they did not validate or came from the wrong node. */
  dropped = 0;

  constructor(
    private readonly link: ClusterLink,
    private readonly host: ClusterPeersHost,
    options: PeerBrokerOptions = {},
  ) {
    this.timeoutMs = options.requestTimeoutMs ?? PEER_REQUEST_TIMEOUT_MS;
    this.maxPending = options.maxPendingPerRequester ?? MAX_PENDING_PEER_REQUESTS;
    this.maxPrompts = options.maxPromptsPerTarget ?? MAX_PENDING_PEER_PROMPTS;
    // One allowance per requester, whichever node its target is on.
    this.limiter = new WindowLimiter(options.requestsPerMinute ?? PEER_REQUESTS_PER_MINUTE, RATE_WINDOW_MS, host.now);
    this.local = new PeerBroker({ ...host, limiter: this.limiter, elsewhere: this }, options);
    host.onOffline((session) => this.onOffline(session));
    link.on('message', (topic, data, from) => this.onMessage(topic, data, from));
    link.on('node_down', (id) => this.onNodeDown(id));
  }

  get pendingCount(): number {
    return this.local.pendingCount + this.outgoing.size;
  }

  pendingFrom(session: OnlineSession): number {
    let n = 0;
    for (const out of this.outgoing.values()) if (out.requester === session) n += 1;
    return n;
  }

  promptsTo(session: OnlineSession): number {
    let n = 0;
    for (const inc of this.incoming.values()) if (inc.target === session && !inc.answered) n += 1;
    return n;
  }

  request(session: OnlineSession, message: Msg<ClientMessage, 'connect'>): void {
    const target = this.remoteTarget(session, message);
    if (target === ANSWERED) return;
    if (!target) return this.local.request(session, message);
    if (target.peerPort === null) {
      throw new ProtocolError(
        ErrorCode.PEER_NO_LISTENER,
        `${target.user} cannot take direct connections (no peer listener)`,
      );
    }
    const key = userKey(target.user);
    for (const out of this.outgoing.values()) {
      if (out.requester === session && userKey(out.target.user) === key) {
        throw new ProtocolError(
          ErrorCode.PEER_ALREADY_REQUESTED,
          `a request between you and ${target.user} is already pending`,
        );
      }
    }
    for (const inc of this.incoming.values()) {
      if (inc.target === session && userKey(inc.from.user) === key && !inc.answered) {
        throw new ProtocolError(
          ErrorCode.PEER_ALREADY_REQUESTED,
          `a request between you and ${target.user} is already pending`,
        );
      }
    }
    const pending = this.pendingFrom(session) + this.local.pendingFrom(session);
    if (pending >= this.maxPending) {
      throw new ProtocolError(ErrorCode.RATE_LIMITED, `you already have ${pending} requests waiting for an answer`, {
        retryAfterMs: 1_000,
      });
    }
    // Counted last, so refusals above do not use up the allowance (section 6.1 step 2).
    const wait = this.limiter.take(userKey(session.user));
    if (wait > 0) {
      throw new ProtocolError(ErrorCode.RATE_LIMITED, 'too many peer requests; try again later', {
        retryAfterMs: wait,
      });
    }
    const id = randomBytes(PEER_REQ_ID_BYTES).toString('hex');
    const timer = setTimeout(() => this.expire(id), this.timeoutMs);
    timer.unref();
    const promptTimer = setTimeout(() => this.unreachable(id), Math.min(PEER_PROMPT_REPLY_MS, this.timeoutMs));
    promptTimer.unref();
    const out: Outgoing = {
      reqId: id,
      requester: session,
      target,
      re: message.id,
      expiresAt: this.host.now() + this.timeoutMs,
      timer,
      promptTimer,
      prompted: false,
    };
    this.outgoing.set(id, out);
    const prompt = {
      reqId: id,
      user: target.user,
      from: { user: session.user, ip: session.ip },
      expiresInMs: this.timeoutMs,
    };
    this.link.send(target.node, 'peers.prompt', prompt).catch(() => {
      // Redis is unreachable: nothing was asked (PROTOCOL.md section 8, E_UNAVAILABLE).
      if (this.outgoing.get(id) !== out) return;
      this.forget(out);
      session.sendError(
        new ProtocolError(ErrorCode.UNAVAILABLE, 'the cluster cannot reach that user now; try again', {
          retryAfterMs: 1_000,
        }),
        out.re,
      );
    });
  }

  answer(session: OnlineSession, message: Msg<ClientMessage, 'connect_answer'>): void {
    const inc = this.incoming.get(message.reqId);
    if (!inc) return this.local.answer(session, message);
    if (inc.target !== session || inc.answered) throw unknownRequest();
    inc.answered = true;
    session.send({ t: 'ok', re: message.id });
    this.tell(inc.node, 'peers.answer', { reqId: inc.reqId, accept: message.accept });
  }

  cancel(session: OnlineSession, message: Msg<ClientMessage, 'connect_cancel'>): void {
    const out = this.outgoing.get(message.reqId);
    const inc = this.incoming.get(message.reqId);
    if (out && out.requester === session && out.prompted) {
      session.send({ t: 'ok', re: message.id });
      return this.finish(out, PeerOutcome.CANCELLED, `${session.user} cancelled the request`);
    }
    if (inc && inc.target === session && !inc.answered) {
      inc.answered = true;
      session.send({ t: 'ok', re: message.id });
      return this.tell(inc.node, 'peers.cancel', { reqId: inc.reqId });
    }
    if (out || inc) throw unknownRequest();
    this.local.cancel(session, message);
  }

  /** The user on another node this `connect` names, or null for a request on this node. */
  private remoteTarget(
    session: OnlineSession,
    message: Msg<ClientMessage, 'connect'>,
  ): RemoteUser | null | typeof ANSWERED {
    const { presence } = this.host;
    if (message.user !== undefined) {
      return this.host.findOnline(message.user) ? null : (presence.remote(message.user) ?? null);
    }
    if (message.ip === undefined) return null; // the broker refuses it
    let ip: string;
    try {
      ip = normalizeIp(message.ip);
    } catch {
      return null;
    }
    const remotes = presence.remotesAt(ip);
    if (remotes.length === 0) return null;
    const locals = [...this.host.onlineSessions()].filter((s) => s.ip === ip && s !== session);
    const [only] = remotes;
    if (only && remotes.length === 1 && locals.length === 0) return only;
    // Several users at that address across the cluster: the server never guesses.
    const candidates = [
      ...locals.map((s) => ({ user: s.user, ip: s.ip })),
      ...remotes.map((r) => ({ user: r.user, ip: r.ip })),
    ];
    candidates.sort((a, b) => a.user.localeCompare(b.user));
    session.send({ t: 'connect_ambiguous', re: message.id, ip, candidates });
    return ANSWERED;
  }

  /** The target's node never confirmed the prompt (it stopped or died): no request was made. */
  private unreachable(id: string): void {
    const out = this.outgoing.get(id);
    if (!out || out.prompted) return;
    this.forget(out);
    out.requester.sendError(new ProtocolError(ErrorCode.PEER_OFFLINE, `${out.target.user} is not online`), out.re);
  }

  private expire(id: string): void {
    const out = this.outgoing.get(id);
    if (!out) return;
    if (!out.prompted) return this.unreachable(id);
    this.finish(
      out,
      PeerOutcome.TIMEOUT,
      `${out.target.user} did not answer within ${Math.round(this.timeoutMs / 1000)} s`,
    );
  }

  private forget(out: Outgoing): void {
    clearTimeout(out.timer);
    clearTimeout(out.promptTimer);
    this.outgoing.delete(out.reqId);
  }

  /** The outcome to both sides: the target's node first, the requester once it has it. */
  private finish(out: Outgoing, outcome: PeerOutcome, reason: string): void {
    this.forget(out);
    const secret = outcome === PeerOutcome.ACCEPTED ? randomBytes(PEER_SECRET_BYTES).toString('base64url') : undefined;
    const requester = out.requester;
    const port = secret && requester.peerPort !== null ? { port: requester.peerPort } : {};
    const address = this.link.node(this.link.nodeId)?.advertise ?? '';
    const bridged =
      secret && address ? this.host.relay?.issueBridged(out.reqId, requester.user, out.target.user) : null;
    const relay = bridged ? { relay: { address, ticket: bridged.ticket } } : {};
    this.tell(out.target.node, 'peers.result', {
      reqId: out.reqId,
      outcome,
      reason,
      ...(secret ? { secret } : {}),
      ...port,
      ...relay,
    });
    const tellRequester = () => {
      deliver(requester, {
        t: 'connect_result',
        reqId: out.reqId,
        outcome,
        reason,
        ...(secret ? { secret } : {}),
        role: 'requester',
        peer: { user: out.target.user, ip: out.target.ip },
        ...(secret && out.target.peerPort !== null ? { port: out.target.peerPort } : {}),
        ...(bridged ? { relay: bridged.requester } : {}),
      });
    };
    if (secret) this.afterDelivered(out.reqId, tellRequester);
    else tellRequester();
    this.host.emit('peer_result', {
      from: requester.user,
      fromIp: requester.ip,
      to: out.target.user,
      toIp: out.target.ip,
      outcome,
    });
  }

  private readonly waiting = new Map<string, () => void>();

  private afterDelivered(id: string, then: () => void): void {
    const timer = setTimeout(() => run(), PEER_RESULT_DELIVERY_WAIT_MS);
    timer.unref();
    const run = () => {
      clearTimeout(timer);
      if (this.waiting.delete(id)) then();
    };
    this.waiting.set(id, run);
  }

  private onOffline(session: OnlineSession): void {
    for (const out of [...this.outgoing.values()]) {
      if (out.requester !== session) continue;
      if (out.prompted) this.finish(out, PeerOutcome.OFFLINE, `${session.user} went offline`);
      else {
        this.forget(out);
        this.tell(out.target.node, 'peers.result', {
          reqId: out.reqId,
          outcome: PeerOutcome.OFFLINE,
          reason: `${session.user} went offline`,
        });
      }
    }
    for (const inc of [...this.incoming.values()]) {
      if (inc.target !== session) continue;
      this.incoming.delete(inc.reqId);
      this.tell(inc.node, 'peers.gone', { reqId: inc.reqId });
    }
  }

  private onNodeDown(id: string): void {
    for (const out of [...this.outgoing.values()]) {
      if (out.target.node !== id) continue;
      if (out.prompted) this.finish(out, PeerOutcome.OFFLINE, `${out.target.user} went offline`);
      else this.unreachable(out.reqId);
    }
    for (const inc of [...this.incoming.values()]) {
      if (inc.node !== id) continue;
      this.incoming.delete(inc.reqId);
      deliver(inc.target, {
        t: 'connect_result',
        reqId: inc.reqId,
        outcome: PeerOutcome.OFFLINE,
        reason: `${inc.from.user} went offline`,
        role: 'target',
        peer: inc.from,
      });
    }
  }

  private onMessage(topic: string, data: unknown, from: string): void {
    if (!Object.hasOwn(bus, topic)) return;
    try {
      this.handle(topic as Topic, data, from);
    } catch {
      this.dropped += 1;
    }
  }

  private handle(topic: Topic, data: unknown, from: string): void {
    if (topic === 'peers.prompt') this.onPrompt(bus[topic](data), from);
    else if (topic === 'peers.result') this.onResult(bus[topic](data), from);
    else if (topic === 'peers.delivered') this.waiting.get(bus[topic](data).reqId)?.();
    else this.onReply(topic, data, from);
  }

  /** Replies about a request of this node, from its target's node. */
  private onReply(topic: Topic, data: unknown, from: string): void {
    const { reqId: id } = bus['peers.prompted'](data);
    const out = this.outgoing.get(id);
    if (!out || out.target.node !== from) throw new Error('not a request of this node to that node');
    if (topic === 'peers.prompted' && !out.prompted) {
      out.prompted = true;
      clearTimeout(out.promptTimer);
      out.requester.send({
        t: 'connect_pending',
        re: out.re,
        reqId: out.reqId,
        user: out.target.user,
        ip: out.target.ip,
        expiresInMs: Math.max(0, out.expiresAt - this.host.now()),
      });
      this.host.emit('peer_request', {
        from: out.requester.user,
        fromIp: out.requester.ip,
        to: out.target.user,
        toIp: out.target.ip,
      });
    } else if (topic === 'peers.refused' && !out.prompted) {
      const { code, message } = bus[topic](data);
      this.forget(out);
      out.requester.sendError(new ProtocolError(code, message), out.re);
    } else if (topic === 'peers.answer' && out.prompted) {
      const { accept } = bus[topic](data);
      const name = out.target.user;
      if (accept) this.finish(out, PeerOutcome.ACCEPTED, `${name} accepted`);
      else this.finish(out, PeerOutcome.DECLINED, `${name} declined`);
    } else if (topic === 'peers.cancel' && out.prompted) {
      this.finish(out, PeerOutcome.CANCELLED, `${out.target.user} cancelled the request`);
    } else if (topic === 'peers.gone' && out.prompted) {
      this.finish(out, PeerOutcome.OFFLINE, `${out.target.user} went offline`);
    }
  }

  /** A user on `from` asks one here: the checks only this node can make, then the prompt. */
  private onPrompt(prompt: { reqId: string; user: string; from: UserEntry; expiresInMs: number }, from: string): void {
    const refuse = (code: (typeof refusable)[number], message: string) =>
      this.tell(from, 'peers.refused', { reqId: prompt.reqId, code, message });
    const target = this.host.findOnline(prompt.user);
    if (!target) return refuse(ErrorCode.PEER_OFFLINE, `${prompt.user} is not online`);
    if (target.peerPort === null) {
      return refuse(ErrorCode.PEER_NO_LISTENER, `${target.user} cannot take direct connections (no peer listener)`);
    }
    const requester = userKey(prompt.from.user);
    for (const out of this.outgoing.values()) {
      if (out.requester === target && userKey(out.target.user) === requester) {
        return refuse(ErrorCode.PEER_ALREADY_REQUESTED, `a request between you and ${target.user} is already pending`);
      }
    }
    if (this.promptsTo(target) + this.local.promptsTo(target) >= this.maxPrompts) {
      return refuse(ErrorCode.PEER_BUSY, `${target.user} has too many requests waiting; try again later`);
    }
    this.incoming.set(prompt.reqId, { reqId: prompt.reqId, node: from, target, from: prompt.from, answered: false });
    this.tell(from, 'peers.prompted', { reqId: prompt.reqId });
    deliver(target, { t: 'connect_prompt', reqId: prompt.reqId, from: prompt.from, expiresInMs: prompt.expiresInMs });
  }

  /** The outcome of a request to a user here: to the target, then tell the requester's node. */
  private onResult(result: ReturnType<(typeof bus)['peers.result']>, from: string): void {
    const inc = this.incoming.get(result.reqId);
    if (!inc || inc.node !== from) return;
    this.incoming.delete(inc.reqId);
    const { reqId: id, outcome, reason, secret, port } = result;
    const token =
      secret && result.relay ? this.host.relay?.acceptBridge(id, inc.from.user, inc.target.user, result.relay) : null;
    deliver(inc.target, {
      t: 'connect_result',
      reqId: id,
      outcome,
      reason,
      ...(secret ? { secret } : {}),
      role: 'target',
      peer: inc.from,
      ...(secret && port !== undefined ? { port } : {}),
      ...(token ? { relay: token } : {}),
    });
    if (secret) this.tell(from, 'peers.delivered', { reqId: id });
  }

  private tell(node: string, topic: Topic, data: unknown): void {
    this.link.send(node, topic, data).catch((err: unknown) => {
      this.host.emit('server_error', {
        where: `cluster ${topic}`,
        message: err instanceof Error ? err.message : String(err),
      });
    });
  }
}

/** `connect` was answered (connect_ambiguous): nothing more to do. */
const ANSWERED = Symbol('answered');

function deliver(session: OnlineSession, message: ServerMessage): void {
  if (session.isOnline) session.send(message);
}
