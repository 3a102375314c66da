/**
 * Peer request brokering (PROTOCOL.md section 6.1). The server introduces two online clients
 * and hands each the one-time secret for their direct link; it never carries peer chat. A
 * request lives from `connect` until one `connect_result` goes to both sides: accepted,
 * declined, timed out, a side went offline, or cancelled. Requests belong to sessions, not
 * names, so a replaced login ends its requests like a disconnect does.
 */
import { randomBytes } from 'node:crypto';
import { isIpAddress, normalizeIp } from '../../net/address.ts';
import {
  MAX_PENDING_PEER_PROMPTS,
  MAX_PENDING_PEER_REQUESTS,
  PEER_REQ_ID_BYTES,
  PEER_REQUEST_TIMEOUT_MS,
  PEER_REQUESTS_PER_MINUTE,
  PEER_SECRET_BYTES,
  RATE_WINDOW_MS,
} from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { ClientMessage, Msg, ServerMessage, UserEntry } from '../../net/messages.ts';
import type { Emit } from '../events.ts';
import { WindowLimiter, type Clock, type RateLimiter } from '../rate-limit.ts';
import type { OnlineSession } from '../session.ts';
import { userKey } from '../users/store.ts';
import { PeerOutcome } from './outcome.ts';

export { PeerOutcome } from './outcome.ts';

export interface PeerBrokerOptions {
  /** No answer within this counts as declined (`timeout`). Tests shorten it. */
  requestTimeoutMs?: number;
  requestsPerMinute?: number;
  maxPendingPerRequester?: number;
  maxPromptsPerTarget?: number;
  /** Issues relay tokens on accept (section 6.6); none are sent without it. */
  relay?: { issue(reqId: string, requester: string, target: string): { requester: string; target: string } | null };
}

/** What the broker needs from the server around it. */
export interface PeerBrokerHost {
  now: Clock;
  emit: Emit;
  /** The online session of this user (any case), if any. */
  findOnline(username: string): OnlineSession | undefined;
  onlineSessions(): Iterable<OnlineSession>;
  /** Subscribe to sessions going offline (closed or replaced). */
  onOffline(listener: (session: OnlineSession) => void): void;
  /** Per-requester allowance of requests; a WindowLimiter over requestsPerMinute if not given. */
  limiter?: RateLimiter;
  /** Requests held elsewhere (a cluster's cross-node ones), counted in the pending caps. */
  elsewhere?: PendingCounts;
}

/** How many pending requests a session made, and how many prompts wait for its answer. */
export interface PendingCounts {
  pendingFrom(session: OnlineSession): number;
  promptsTo(session: OnlineSession): number;
}

/**
 * Peer introductions as the handlers see them (section 6.1). The broker below does it on
 * one server; a relay through another server would implement the same three requests.
 */
export interface PeerIntroductions {
  readonly pendingCount: number;
  request(session: OnlineSession, message: Msg<ClientMessage, 'connect'>): void;
  answer(session: OnlineSession, message: Msg<ClientMessage, 'connect_answer'>): void;
  cancel(session: OnlineSession, message: Msg<ClientMessage, 'connect_cancel'>): void;
}

interface PeerRequest {
  readonly reqId: string;
  readonly requester: OnlineSession;
  readonly target: OnlineSession;
  readonly expiresAt: number;
  readonly timer: NodeJS.Timeout;
}

export class PeerBroker implements PeerIntroductions, PendingCounts {
  private readonly requests = new Map<string, PeerRequest>();
  /** Every pending request a session is part of, in either role. */
  private readonly bySession = new Map<OnlineSession, Set<PeerRequest>>();
  private readonly limiter: RateLimiter;
  private readonly timeoutMs: number;
  private readonly maxPendingPerRequester: number;
  private readonly maxPromptsPerTarget: number;
  private readonly relay: PeerBrokerOptions['relay'];

  constructor(
    private readonly host: PeerBrokerHost,
    options: PeerBrokerOptions = {},
  ) {
    this.timeoutMs = options.requestTimeoutMs ?? PEER_REQUEST_TIMEOUT_MS;
    this.maxPendingPerRequester = options.maxPendingPerRequester ?? MAX_PENDING_PEER_REQUESTS;
    this.maxPromptsPerTarget = options.maxPromptsPerTarget ?? MAX_PENDING_PEER_PROMPTS;
    this.limiter =
      host.limiter ??
      new WindowLimiter(options.requestsPerMinute ?? PEER_REQUESTS_PER_MINUTE, RATE_WINDOW_MS, host.now);
    host.onOffline((session) => this.onOffline(session));
    this.relay = options.relay;
  }

  get pendingCount(): number {
    return this.requests.size;
  }

  /** `connect` (section 6.1 steps 1-3): refuse, report ambiguity, or prompt the target. */
  request(session: OnlineSession, message: Msg<ClientMessage, 'connect'>): void {
    const target = this.resolveTarget(session, message);
    if (!target) return; // answered with connect_ambiguous
    if (target.peerPort === null) {
      throw new ProtocolError(
        ErrorCode.PEER_NO_LISTENER,
        `${target.user} cannot take direct connections (no peer listener)`,
      );
    }
    const mine = this.bySession.get(session);
    const requested = this.host.elsewhere?.pendingFrom(session) ?? 0;
    if (mine || requested > 0) {
      for (const req of mine ?? []) {
        if (req.target === target || req.requester === target) {
          throw new ProtocolError(
            ErrorCode.PEER_ALREADY_REQUESTED,
            `a request between you and ${target.user} is already pending`,
          );
        }
      }
      const pending = this.pendingFrom(session) + requested;
      if (pending >= this.maxPendingPerRequester) {
        throw new ProtocolError(ErrorCode.RATE_LIMITED, `you already have ${pending} requests waiting for an answer`, {
          retryAfterMs: 1_000,
        });
      }
    }
    const prompts = this.promptsTo(target) + (this.host.elsewhere?.promptsTo(target) ?? 0);
    if (prompts >= this.maxPromptsPerTarget) {
      throw new ProtocolError(ErrorCode.PEER_BUSY, `${target.user} has too many requests waiting; try again later`);
    }
    // Counted last, so refusals above do not use up the allowance (section 6.1 step 2).
    const wait = this.limiter.take(userKeyOf(session));
    if (wait > 0)
      throw new ProtocolError(ErrorCode.RATE_LIMITED, 'too many peer requests; try again later', {
        retryAfterMs: wait,
      });

    const reqId = randomBytes(PEER_REQ_ID_BYTES).toString('hex');
    const timer = setTimeout(() => this.expire(reqId), this.timeoutMs);
    timer.unref();
    const req: PeerRequest = { reqId, requester: session, target, expiresAt: this.host.now() + this.timeoutMs, timer };
    this.requests.set(reqId, req);
    this.index(session, req);
    this.index(target, req);
    session.send({
      t: 'connect_pending',
      re: message.id,
      reqId,
      user: nameOf(target),
      ip: target.ip,
      expiresInMs: this.timeoutMs,
    });
    deliver(target, { t: 'connect_prompt', reqId, from: entryOf(session), expiresInMs: this.timeoutMs });
    this.host.emit('peer_request', { from: nameOf(session), fromIp: session.ip, to: nameOf(target), toIp: target.ip });
  }

  /** Requests `session` made that wait for an answer. */
  pendingFrom(session: OnlineSession): number {
    let n = 0;
    for (const req of this.bySession.get(session) ?? []) if (req.requester === session) n += 1;
    return n;
  }

  /** Prompts that wait for `session`'s answer. */
  promptsTo(session: OnlineSession): number {
    let n = 0;
    for (const req of this.bySession.get(session) ?? []) if (req.target === session) n += 1;
    return n;
  }

  /** `connect_answer` (step 4): only the target may answer. */
  answer(session: OnlineSession, message: Msg<ClientMessage, 'connect_answer'>): void {
    const req = this.requests.get(message.reqId);
    if (!req || req.target !== session) throw unknownRequest();
    session.send({ t: 'ok', re: message.id });
    if (message.accept) this.finish(req, PeerOutcome.ACCEPTED, `${nameOf(session)} accepted`);
    else this.finish(req, PeerOutcome.DECLINED, `${nameOf(session)} declined`);
  }

  /** `connect_cancel` (step 4): either side may withdraw while it is pending. */
  cancel(session: OnlineSession, message: Msg<ClientMessage, 'connect_cancel'>): void {
    const req = this.requests.get(message.reqId);
    if (!req || (req.target !== session && req.requester !== session)) throw unknownRequest();
    session.send({ t: 'ok', re: message.id });
    this.finish(req, PeerOutcome.CANCELLED, `${nameOf(session)} cancelled the request`);
  }

  /**
   * By user: that online user. By IP (normalised as the server sees addresses): the one other
   * online user there, or connect_ambiguous with all of them; the server never guesses.
   */
  private resolveTarget(session: OnlineSession, message: Msg<ClientMessage, 'connect'>): OnlineSession | null {
    if ((message.user === undefined) === (message.ip === undefined)) {
      throw new ProtocolError(ErrorCode.BAD_MESSAGE, 'connect needs exactly one of "user" or "ip"');
    }
    if (message.user !== undefined) {
      const target = this.host.findOnline(message.user);
      if (!target) throw new ProtocolError(ErrorCode.PEER_OFFLINE, `${message.user} is not online`);
      if (target === session) throw new ProtocolError(ErrorCode.PEER_SELF, 'you cannot connect to yourself');
      return target;
    }
    if (!isIpAddress(message.ip as string))
      throw new ProtocolError(ErrorCode.BAD_MESSAGE, `${message.ip} is not an IPv4 or IPv6 address`);
    const ip = normalizeIp(message.ip);
    const others: OnlineSession[] = [];
    let self = false;
    for (const candidate of this.host.onlineSessions()) {
      if (candidate.ip !== ip) continue;
      if (candidate === session) self = true;
      else others.push(candidate);
    }
    const [only] = others;
    if (only && others.length === 1) return only;
    if (others.length === 0) {
      if (self) throw new ProtocolError(ErrorCode.PEER_SELF, `the only user at ${ip} is you`);
      throw new ProtocolError(ErrorCode.PEER_OFFLINE, `nobody is online at ${ip}`);
    }
    const candidates = others.map(entryOf).sort((a, b) => a.user.localeCompare(b.user));
    session.send({ t: 'connect_ambiguous', re: message.id, ip, candidates });
    return null;
  }

  private expire(reqId: string): void {
    const req = this.requests.get(reqId);
    if (req)
      this.finish(
        req,
        PeerOutcome.TIMEOUT,
        `${nameOf(req.target)} did not answer within ${Math.round(this.timeoutMs / 1000)} s`,
      );
  }

  private onOffline(session: OnlineSession): void {
    const mine = this.bySession.get(session);
    if (!mine) return;
    for (const req of [...mine]) this.finish(req, PeerOutcome.OFFLINE, `${nameOf(session)} went offline`);
  }

  /** Step 5: one connect_result to each side still online, then forget the request. */
  private finish(req: PeerRequest, outcome: PeerOutcome, reason: string): void {
    clearTimeout(req.timer);
    this.requests.delete(req.reqId);
    this.unindex(req.requester, req);
    this.unindex(req.target, req);
    // A fresh secret per accepted request; both sides get the same one (section 6.3).
    const secret = outcome === PeerOutcome.ACCEPTED ? randomBytes(PEER_SECRET_BYTES).toString('base64url') : undefined;
    const base = { t: 'connect_result', reqId: req.reqId, outcome, reason, ...(secret ? { secret } : {}) } as const;
    // Section 6.6: each side also gets the other's port (the target dials back) and its own relay token.
    const relay = secret ? this.relay?.issue(req.reqId, nameOf(req.requester), nameOf(req.target)) : null;
    const extras = (other: OnlineSession, token: string | undefined) => ({
      ...(secret && other.peerPort !== null ? { port: other.peerPort } : {}),
      ...(token ? { relay: token } : {}),
    });
    // The target first: it must know the secret before the requester's handshake arrives.
    deliver(req.target, {
      ...base,
      role: 'target',
      peer: entryOf(req.requester),
      ...extras(req.requester, relay?.target),
    });
    deliver(req.requester, {
      ...base,
      role: 'requester',
      peer: entryOf(req.target),
      ...extras(req.target, relay?.requester),
    });
    this.host.emit('peer_result', {
      from: nameOf(req.requester),
      fromIp: req.requester.ip,
      to: nameOf(req.target),
      toIp: req.target.ip,
      outcome,
    });
  }

  private index(session: OnlineSession, req: PeerRequest): void {
    let set = this.bySession.get(session);
    if (!set) this.bySession.set(session, (set = new Set()));
    set.add(req);
  }

  private unindex(session: OnlineSession, req: PeerRequest): void {
    const set = this.bySession.get(session);
    if (!set) return;
    set.delete(req);
    if (set.size === 0) this.bySession.delete(session);
  }
}

/** Send only to a session that is online (a closing connection drops sends by itself). */
function deliver(session: OnlineSession, message: ServerMessage): void {
  if (session.isOnline) session.send(message);
}

function nameOf(session: OnlineSession): string {
  return session.user;
}

function entryOf(session: OnlineSession): UserEntry {
  return { user: nameOf(session), ip: session.ip };
}

function userKeyOf(session: OnlineSession): string {
  return userKey(nameOf(session));
}

export function unknownRequest(): ProtocolError {
  return new ProtocolError(ErrorCode.PEER_UNKNOWN_REQUEST, 'no such pending request for you (it may have ended)');
}
