/**
 * The server core (PROTOCOL.md sections 3-5): takes connections from whatever carries them
 * (`handle`) and datagrams from the UDP socket (`handleDatagram`). It opens no listener;
 * listen.ts does that, so tests can drive it over any duplex stream.
 *
 * It is also the composition root. Each feature declares the host it needs next to itself
 * and never imports this file (scripts/import-cycles.mjs checks there is no cycle):
 *   handlers/host.ts        HandlerHost: what message handlers may call
 *   users/accounts.ts       AccountsHost: login/registration rules and throttles
 *   broadcasts/ports.ts     DeliveryHost, PendingQueue, Ticker: broadcast service and delivery
 *   peers/broker.ts         PeerBrokerHost; PeerIntroductions is the seam for a relay
 *   udp.ts                  UdpHost: routes opened datagrams back through udpHandlers
 *   presence.ts             PresenceDirectory
 * Second implementations (shared state for a cluster) pass the contract suites in test/.
 */
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { normalizeIp } from '../net/address.ts';
import { FramedConnection } from '../net/connection.ts';
import {
  IDLE_TIMEOUT_MS,
  KEEPALIVE_INTERVAL_MS,
  LOGIN_TIMEOUT_MS,
  OUTPUT_QUEUE_BYTES,
  PRESENCE_FLUSH_MS,
  PROTOCOL_VERSION,
  UDP_DEAD_AFTER_MS,
} from '../net/constants.ts';
import { ErrorCode, ProtocolError } from '../net/errors.ts';
import { userKey } from '../net/names.ts';
import { clientMessages, type ClientMessage, type ServerMessage, type UdpClientMessage } from '../net/messages.ts';
import type { DeliveryHost } from './broadcasts/delivery.ts';
import { Broadcasts } from './broadcasts/service.ts';
import type { BroadcastStore } from './broadcasts/store.ts';
import { clusterBroadcastQueue } from './cluster/broadcast-queue.ts';
import type { ClusterLink } from './cluster/link.ts';
import { clusterPeers } from './cluster/peers.ts';
import { clusterPresence } from './cluster/presence.ts';
import { clusterAccountLimits, clusterBroadcastLimiter } from './cluster/limits.ts';

import { clusterRelay } from './cluster/relay.ts';
import type { Emit, ServerEvents } from './events.ts';
import { handlers, udpHandlers, type HandlerHost } from './handlers/index.ts';
import { PeerBroker, type PeerBrokerOptions, type PeerIntroductions } from './peers/broker.ts';
import { Presence, type PresenceDirectory } from './presence.ts';
import type { Clock } from './rate-limit.ts';
import type { RelayLimits } from './relay/limits.ts';
import { RelayService } from './relay/service.ts';
import {
  ClientSession,
  isOnline,
  MAX_INVALID_MESSAGES,
  SessionState,
  UdpPathState,
  type OnlineSession,
} from './session.ts';
import { UdpEndpoint, type DatagramSender } from './udp.ts';
import { Accounts } from './users/accounts.ts';
import type { PasswordHasher } from './users/passwords.ts';
import type { UserStore } from './users/store.ts';

import { DEFAULT_MAX_CONNECTIONS, REGISTRATIONS_PER_IP_PER_MINUTE } from './defaults.ts';
export { DEFAULT_MAX_CONNECTIONS, REGISTRATIONS_PER_IP_PER_MINUTE };
export const SERVER_NAME = 'p2p-broadcast/0.1';
const SWEEP_INTERVAL_MS = 1_000;
/**
 * Online users' last-seen time is written this often (through the store's batched writes),
 * so a crash (kill -9, power loss) loses at most this much of it (PROTOCOL.md section 4.2).
 */
export const LAST_SEEN_REFRESH_MS = 60_000;

export interface ServerCoreOptions {
  store: UserStore;
  hasher: PasswordHasher;
  maxConnections?: number;
  loginTimeoutMs?: number;
  idleTimeoutMs?: number;
  keepaliveMs?: number;
  udpDeadAfterMs?: number;
  presenceFlushMs?: number;
  /** Output queued for a client above which it gets presence as a backlog (tests lower it). */
  presenceBacklogBytes?: number;
  registrationsPerMinutePerIp?: number;
  /** Peer brokering limits and timeout (section 6.1). */
  peers?: PeerBrokerOptions;
  /** Re-make hashes below the current scrypt cost at login (section 4.6); default true. */
  rehashOutdated?: boolean;
  /** Relay limits (section 6.6); maxCircuits 0 turns the relay off. */
  relay?: Partial<RelayLimits>;
  now?: Clock;
  /** The broadcast queue's durable store (section 7.3); in memory if not given. */
  broadcastStore?: BroadcastStore;
  broadcastTtlMs?: number;
  broadcastsPerMinute?: number;
  maxPendingBroadcasts?: number;
  /** The broadcast RTO before any round trip is measured, and its floor; tests change them (section 7.2). */
  broadcastRto?: { initialMs?: number; minMs?: number };
  /** Recipients per turn of a fan-out; FANOUT_SLICE by default (tests make it small). */
  broadcastFanoutSlice?: number;
  /** How often online users' last-seen is written; LAST_SEEN_REFRESH_MS by default. */
  lastSeenRefreshMs?: number;
  /** Cluster mode: this node's link; features share their state through it (README "Cluster"). */
  cluster?: ClusterLink | null;
}

/** In-process hooks for feature modules (peer broker, broadcasts); not for logging. */
export interface ServerHooks {
  /** A session just went online (after `welcome` was queued). */
  online: [OnlineSession];
  /** An online session closed or was replaced. */
  offline: [OnlineSession];
  /**
   * A connection left the session layer to carry one half of a relay circuit (section 6.6):
   * it is admitted for good, like a login, though it never logs in.
   */
  relayed: [ClientSession];
}

/**
 * The composition root: builds each feature with a narrow host of what it uses (UdpHost,
 * PeerBrokerHost, DeliveryHost, AccountsHost, HandlerHost) and wires them here, so no
 * feature imports this file. The fields stay public as a read-only facade for main.ts,
 * app.ts, the dashboard and tests.
 */
export class ServerCore extends EventEmitter<ServerEvents> {
  readonly hooks = new EventEmitter<ServerHooks>();
  readonly store: UserStore;
  readonly hasher: PasswordHasher;
  readonly presence: PresenceDirectory;
  readonly udp: UdpEndpoint;
  readonly now: Clock;
  readonly accounts: Accounts;
  readonly broadcasts: Broadcasts<OnlineSession>;
  readonly peers: PeerIntroductions;
  readonly relay: RelayService;
  readonly options: Required<
    Omit<
      ServerCoreOptions,
      | 'store'
      | 'hasher'
      | 'now'
      | 'peers'
      | 'relay'
      | 'rehashOutdated'
      | 'broadcastStore'
      | 'broadcastTtlMs'
      | 'broadcastsPerMinute'
      | 'maxPendingBroadcasts'
      | 'broadcastRto'
      | 'broadcastFanoutSlice'
      | 'lastSeenRefreshMs'
      | 'cluster'
    >
  >;
  private readonly sessions = new Set<ClientSession>();
  private readonly handlerHost: HandlerHost;
  private nextConnId = 1;
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly lastSeenRefreshMs: number;
  private lastSeenWrittenAt: number;

  constructor(options: ServerCoreOptions) {
    super();
    this.store = options.store;
    this.hasher = options.hasher;
    this.now = options.now ?? Date.now;
    this.options = {
      maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      loginTimeoutMs: options.loginTimeoutMs ?? LOGIN_TIMEOUT_MS,
      idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
      keepaliveMs: options.keepaliveMs ?? KEEPALIVE_INTERVAL_MS,
      udpDeadAfterMs: options.udpDeadAfterMs ?? UDP_DEAD_AFTER_MS,
      presenceFlushMs: options.presenceFlushMs ?? PRESENCE_FLUSH_MS,
      presenceBacklogBytes: options.presenceBacklogBytes ?? OUTPUT_QUEUE_BYTES.PRESENCE_HOLD,
      registrationsPerMinutePerIp: options.registrationsPerMinutePerIp ?? REGISTRATIONS_PER_IP_PER_MINUTE,
    };
    const now = this.now;
    // eventemitter3's emit is typed through its own argument maps; the signature is the same.
    const emit = this.emit.bind(this) as Emit;
    const onHook = (event: 'online' | 'offline', listener: (session: OnlineSession) => void) => {
      this.hooks.on(event, listener);
      return () => void this.hooks.off(event, listener);
    };
    const shared = options.cluster
      ? clusterPresence(options.cluster, {
          flushMs: this.options.presenceFlushMs,
          backlogBytes: this.options.presenceBacklogBytes,
          onError: (err) => emit('server_error', { where: 'cluster presence', message: err.message }),
        })
      : null;
    const presence = shared ?? new Presence(this.options.presenceFlushMs, this.options.presenceBacklogBytes);
    this.presence = presence;
    this.udp = new UdpEndpoint({
      now,
      emit,
      dispatch: (session, message, receivedAt) => this.dispatchDatagram(session, message, receivedAt),
      holding: () => this.broadcasts.delivery.fanningOut,
      acceptAckTokens: (session, entries) => this.broadcasts.delivery.acceptAckTokens(session, entries),
    });
    this.accounts = new Accounts(
      { store: this.store, hasher: this.hasher, now, emit },
      {
        registrationsPerMinutePerIp: this.options.registrationsPerMinutePerIp,
        rehashOutdated: options.rehashOutdated,
        // A cluster counts failures and allowances across its nodes (docs/CLUSTER.md "Shared limits").
        ...(options.cluster
          ? clusterAccountLimits(options.cluster, now, this.options.registrationsPerMinutePerIp)
          : {}),
      },
    );
    const deliveryHost: DeliveryHost<OnlineSession> = {
      now,
      emit,
      registeredUsers: () => this.store.size,
      onlineSessions: () => presence.sessions(),
      onOnline: (listener) => onHook('online', listener),
      onOffline: (listener) => onHook('offline', listener),
      sendDatagram: (session, payload) => this.udp.sendPayload(session, payload),
      sendFrame: (session, frame) => session.sendFrame(frame),
      pendingOutputBytes: (session) => session.conn.pendingOutputBytes,
      udpAlive: (session) => session.udp.state === UdpPathState.ALIVE,
      isClosed: (session) => session.isClosed,
    };
    this.broadcasts = new Broadcasts(deliveryHost, {
      store: options.broadcastStore,
      ttlMs: options.broadcastTtlMs,
      perMinute: options.broadcastsPerMinute,
      limiter: options.cluster ? clusterBroadcastLimiter(options.cluster, now, options.broadcastsPerMinute) : undefined,
      maxPending: options.maxPendingBroadcasts,
      rto: options.broadcastRto,
      queue: options.cluster
        ? clusterBroadcastQueue(options.cluster, {
            now,
            ttlMs: options.broadcastTtlMs,
            maxPending: options.maxPendingBroadcasts,
            onError: (err) => emit('server_error', { where: 'broadcast queue', message: err.message }),
          })
        : undefined,
      fanoutSlice: options.broadcastFanoutSlice,
      // What the UDP endpoint held during a fan-out: its acks (section 7.2).
      releaseHeld: () => this.udp.release(),
    });
    // The relay sees the server only through RelayHost (section 6.6).
    const relay = options.cluster ? clusterRelay({ now, emit }, options.relay) : null;
    this.relay = relay ?? new RelayService({ now, emit }, options.relay);
    const peerHost = {
      now,
      emit,
      findOnline: (username: string) => presence.get(username),
      onlineSessions: () => presence.sessions(),
      onOffline: (listener: (session: OnlineSession) => void) => void onHook('offline', listener),
    };
    this.peers =
      options.cluster && shared
        ? clusterPeers(
            options.cluster,
            { ...peerHost, presence: shared, relay },
            { ...options.peers, relay: this.relay },
          )
        : new PeerBroker(peerHost, { ...options.peers, relay: this.relay });
    this.handlerHost = {
      now,
      accounts: this.accounts,
      goOnline: (session, user, peerPort, re, registered) => this.goOnline(session, user, peerPort, re, registered),
      closeOtherSessions: (session, code, why) => this.closeOtherSessions(session, code, why),
      relayed: (session) => void this.hooks.emit('relayed', session),
      emit,
      presence,
      broadcasts: this.broadcasts,
      peers: this.peers,
      relay: this.relay,
    };
    this.lastSeenRefreshMs = options.lastSeenRefreshMs ?? LAST_SEEN_REFRESH_MS;
    this.lastSeenWrittenAt = now();
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  /** Every connection, logged in or not (for the dashboard). */
  allSessions(): IterableIterator<ClientSession> {
    return this.sessions.values();
  }

  /** Attach the UDP socket's send function and the port clients should use. */
  attachUdp(sender: DatagramSender, port: number): void {
    this.udp.attach(sender, port);
  }

  handleDatagram(datagram: Buffer, address: string, port: number): void {
    this.udp.receive(datagram, normalizeIp(address), port);
  }

  /** Take a new connection (already TLS-secured by the caller). Section 3.1. */
  handle(stream: Duplex, remoteAddress: string | undefined): void {
    const ip = normalizeIp(remoteAddress);
    const conn = new FramedConnection<typeof clientMessages, ServerMessage>(stream, clientMessages);
    if (this.stopping || this.sessions.size >= this.options.maxConnections) {
      const reason = this.stopping
        ? 'server is shutting down'
        : `server is full (${this.options.maxConnections} connections)`;
      this.emit('refused', { ip, reason });
      conn.end({
        t: 'error',
        code: this.stopping ? ErrorCode.SERVER_SHUTDOWN : ErrorCode.SERVER_FULL,
        message: reason,
        fatal: true,
      });
      return;
    }
    const session = new ClientSession(this.nextConnId++, ip, conn, this.now());
    this.sessions.add(session);
    this.emit('connection', { conn: session.id, ip, connections: this.sessions.size });

    conn.on('message', (message) => this.dispatch(session, message));
    conn.on('invalid', (error, fatal, re) => this.onInvalid(session, error, fatal, re));
    conn.on('drain', () => {
      conn.resume();
      if (isOnline(session)) this.presence.catchUp(session);
    });
    conn.on('close', (err) => this.onClose(session, err));
    session.send({
      t: 'hello',
      proto: PROTOCOL_VERSION,
      server: SERVER_NAME,
      loginTimeoutMs: this.options.loginTimeoutMs,
      keepaliveMs: this.options.keepaliveMs,
    });
  }

  /** Make an authenticated session the user's online session (section 4.3). */
  goOnline(client: ClientSession, user: string, peerPort: number | undefined, re: number, registered: boolean): void {
    const session = client.goOnline(user, peerPort ?? null, this.now());
    const udp = session.udp;
    this.udp.register(session);
    const previous = this.presence.add(session);
    if (previous) previous.closeWith(ErrorCode.SESSION_REPLACED, 'you logged in from another connection');
    session.send({
      t: 'welcome',
      re,
      user,
      ip: session.ip,
      registered,
      serverTime: this.now(),
      udp: {
        port: this.udp.port,
        sid: udp.channel.sid.toString('base64url'),
        key: udp.channel.key.toString('base64url'),
      },
    });
    // The list follows as presence batches, the first with reset (section 4.5).
    this.presence.sendList(session);
    this.store.touch(user, this.now()); // seen now, even if the server dies before the logout
    this.emit('login', { user, ip: session.ip, replaced: previous !== undefined });
    this.hooks.emit('online', session);
  }

  /** Every other connection logged in (or logging in) as `session`'s user (section 4.6). */
  private closeOtherSessions(session: OnlineSession, code: ErrorCode, why: string): number {
    const key = userKey(session.user);
    let closed = 0;
    for (const other of this.sessions) {
      if (
        other === session ||
        other.state === SessionState.CLOSED ||
        other.user === null ||
        userKey(other.user) !== key
      )
        continue;
      other.closeWith(code, why);
      closed += 1;
    }
    return closed;
  }

  /** Tell every client, stop accepting, persist state. Section 3.4. */
  async shutdown(message = 'server is shutting down'): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.presence.stop();
    this.relay.close();
    const now = this.now();
    for (const session of this.sessions) {
      // Their sockets close after the store does: record last-seen while it still writes.
      if (isOnline(session)) this.store.touch(session.user, now);
      session.closeWith(ErrorCode.SERVER_SHUTDOWN, message);
    }
    await Promise.all([this.store.close(), this.broadcasts.close()]);
  }

  private dispatch(session: ClientSession, message: ClientMessage): void {
    const now = this.now();
    session.lastHeardAt = now;
    if (session.state === SessionState.CLOSED) return;
    const re = 'id' in message ? message.id : undefined;
    const entry = handlers[message.t];
    if (!entry?.unmetered && !session.takeToken(now)) {
      session.sendError(
        new ProtocolError(ErrorCode.RATE_LIMITED, 'too many messages; slow down', { retryAfterMs: 1_000 }),
        re,
      );
      return;
    }
    if (!entry) {
      session.sendError(new ProtocolError(ErrorCode.UNKNOWN_TYPE, `this server does not handle "${message.t}"`), re);
      return;
    }
    if (entry.auth && !isOnline(session)) {
      session.sendError(new ProtocolError(ErrorCode.NOT_AUTHENTICATED, 'log in or register first'), re);
      return;
    }
    // Backpressure (section 3.3): stop reading from a client that is not reading our replies.
    if (session.conn.pendingOutputBytes > OUTPUT_QUEUE_BYTES.SERVER_PAUSE_READ) session.conn.pause();
    // The guard above made the session online for every `auth: true` entry.
    this.run(session, message.t, re, () => entry.handle(this.handlerHost, session as OnlineSession, message as never));
  }

  /**
   * An opened datagram from an online session (section 5), routed through the same kind of
   * table as TCP messages. Not counted against the session's message bucket: its sealing
   * and replay window already bound it.
   */
  private dispatchDatagram(session: OnlineSession, message: UdpClientMessage, receivedAt: number): void {
    if (!isOnline(session)) return;
    const handle = udpHandlers[message.t as keyof typeof udpHandlers];
    if (!handle) return;
    // In this turn, not in a microtask as `run` does: each datagram is its own turn anyway,
    // and a fan-out to 10,000 brings 10,000 acks, each then two promises fewer.
    try {
      const done = handle(this.handlerHost, session, message as never, receivedAt);
      if (done) done.catch((err: unknown) => this.handlerFailed(session, message.t, undefined, err));
    } catch (err) {
      this.handlerFailed(session, message.t, undefined, err);
    }
  }

  /** Run a handler; a ProtocolError it throws is the answer, anything else is our bug. */
  private run(session: ClientSession, where: string, re: number | undefined, handle: () => void | Promise<void>): void {
    Promise.resolve()
      .then(handle)
      .catch((err: unknown) => this.handlerFailed(session, where, re, err));
  }

  private handlerFailed(session: ClientSession, where: string, re: number | undefined, err: unknown): void {
    if (err instanceof ProtocolError) {
      // The client hears "could not save"; the operator needs the file and what to do.
      if (err.code === ErrorCode.STORAGE && err.cause instanceof Error) {
        this.emit('server_error', { where, message: err.cause.message });
      }
      session.sendError(err, re);
    } else {
      this.emit('server_error', { where, message: err instanceof Error ? err.message : String(err) });
      session.sendError(new ProtocolError(ErrorCode.INTERNAL, 'internal error'), re);
    }
  }

  private onInvalid(session: ClientSession, error: ProtocolError, fatal: boolean, re: number | undefined): void {
    this.emit('protocol_error', { conn: session.id, ip: session.ip, code: error.code, message: error.message });
    session.invalidMessages += 1;
    if (fatal || session.invalidMessages > MAX_INVALID_MESSAGES) {
      session.closeReason ??= error.code;
      session.closeWith(error.code, fatal ? error.message : 'too many invalid messages', re);
      return;
    }
    session.sendError(error, re);
  }

  private onClose(session: ClientSession, err: Error | undefined): void {
    const wasOnline = isOnline(session);
    session.state = SessionState.CLOSED;
    this.sessions.delete(session);
    if (wasOnline) this.udp.unregister(session);
    const reason = session.closeReason ?? (err ? err.message : 'closed by client');
    if (wasOnline) {
      if (this.presence.remove(session)) this.store.touch(session.user, this.now());
      this.hooks.emit('offline', session);
      this.emit('logout', { user: session.user, ip: session.ip, reason });
    }
    this.emit('disconnect', {
      conn: session.id,
      ip: session.ip,
      user: session.user,
      reason,
      connections: this.sessions.size,
    });
  }

  /** Timeouts and path liveness, once a second; online users' last-seen, once a refresh. */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSeenWrittenAt >= this.lastSeenRefreshMs) {
      this.lastSeenWrittenAt = now;
      // One batched write for all of them (the store's group commit), not one per user.
      for (const session of this.presence.sessions()) this.store.touch(session.user, now);
    }
    for (const session of this.sessions) {
      if (!isOnline(session)) {
        if (now - session.connectedAt > this.options.loginTimeoutMs) {
          session.closeReason = ErrorCode.LOGIN_TIMEOUT;
          session.closeWith(
            ErrorCode.LOGIN_TIMEOUT,
            `no login within ${Math.round(this.options.loginTimeoutMs / 1000)} s`,
          );
        }
        continue;
      }
      if (now - session.lastHeardAt > this.options.idleTimeoutMs) {
        session.closeReason = ErrorCode.IDLE_TIMEOUT;
        session.closeWith(ErrorCode.IDLE_TIMEOUT, 'no keepalive from the client');
        continue;
      }
      const udp = session.udp;
      if (udp.state === UdpPathState.ALIVE && now - udp.lastHeardAt > this.options.udpDeadAfterMs) {
        udp.state = UdpPathState.DEAD;
        this.emit('udp_path', { user: session.user, state: udp.state });
      }
    }
  }
}
