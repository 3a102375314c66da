/**
 * The server core (PROTOCOL.md sections 3-5): takes connections from whatever carries them
 * (`handle`) and datagrams from the UDP socket (`handleDatagram`). It opens no listener;
 * listen.ts does that, so tests can drive it over any duplex stream.
 */
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { normalizeIp } from '../net/address.ts';
import { FramedConnection } from '../net/connection.ts';
import {
  FREE_FAILURES_PER_IP,
  FREE_FAILURES_PER_USER,
  IDLE_TIMEOUT_MS,
  KEEPALIVE_INTERVAL_MS,
  LOGIN_TIMEOUT_MS,
  OUTBOUND_HIGH_WATER_BYTES,
  PRESENCE_FLUSH_MS,
  PROTOCOL_VERSION,
  UDP_DEAD_AFTER_MS,
} from '../net/constants.ts';
import { ErrorCode, ProtocolError } from '../net/errors.ts';
import { clientMessages, type ClientMessage, type ServerMessage } from '../net/messages.ts';
import { Broadcasts } from './broadcasts/service.ts';
import type { BroadcastStore } from './broadcasts/store.ts';
import type { ServerEvents } from './events.ts';
import { handleBroadcastAck } from './handlers/broadcast.ts';
import { handlers } from './handlers/index.ts';
import { PeerBroker, type PeerBrokerOptions } from './peers/broker.ts';
import { Presence, PRESENCE_BACKLOG_BYTES } from './presence.ts';
import type { RelayLimits } from './relay/limits.ts';
import { RelayService } from './relay/service.ts';
import { FailureBackoff, WindowLimiter, type Clock } from './rate-limit.ts';
import { ClientSession, MAX_INVALID_MESSAGES, SessionState, UdpPathState } from './session.ts';
import { UdpEndpoint, type DatagramSender } from './udp.ts';
import type { PasswordHasher } from './users/passwords.ts';
import type { UserStore } from './users/store.ts';

export const SERVER_NAME = 'p2p-broadcast/0.1';
/** Under the 20,000 open-files limit of our machines, with room for files and peers. */
export const DEFAULT_MAX_CONNECTIONS = 16_000;
export const REGISTRATIONS_PER_IP_PER_MINUTE = 30;
const SWEEP_INTERVAL_MS = 1_000;

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
  /** Relay limits (section 6.6); maxCircuits 0 turns the relay off. */
  relay?: Partial<RelayLimits>;
  now?: Clock;
  /** The broadcast queue's durable store (section 7.3); in memory if not given. */
  broadcastStore?: BroadcastStore;
  broadcastTtlMs?: number;
  broadcastsPerMinute?: number;
  maxPendingBroadcasts?: number;
  /** First retransmission delay; tests shorten it (section 7.2). */
  broadcastRetransmitBaseMs?: number;
}

/** In-process hooks for feature modules (peer broker, broadcasts); not for logging. */
export interface ServerHooks {
  /** A session just went online (after `welcome` was queued). */
  online: [ClientSession];
  /** An online session closed or was replaced. */
  offline: [ClientSession];
}

export class ServerCore extends EventEmitter<ServerEvents> {
  readonly hooks = new EventEmitter<ServerHooks>();
  readonly store: UserStore;
  readonly hasher: PasswordHasher;
  readonly presence: Presence;
  readonly udp: UdpEndpoint;
  readonly now: Clock;
  readonly userFailures: FailureBackoff;
  readonly ipFailures: FailureBackoff;
  readonly registrations: WindowLimiter;
  readonly broadcasts: Broadcasts;
  readonly peers: PeerBroker;
  readonly relay: RelayService;
  readonly options: Required<
    Omit<
      ServerCoreOptions,
      | 'store'
      | 'hasher'
      | 'now'
      | 'peers'
      | 'relay'
      | 'broadcastStore'
      | 'broadcastTtlMs'
      | 'broadcastsPerMinute'
      | 'maxPendingBroadcasts'
      | 'broadcastRetransmitBaseMs'
    >
  >;
  private readonly sessions = new Set<ClientSession>();
  private nextConnId = 1;
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopping = false;

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
      presenceBacklogBytes: options.presenceBacklogBytes ?? PRESENCE_BACKLOG_BYTES,
      registrationsPerMinutePerIp: options.registrationsPerMinutePerIp ?? REGISTRATIONS_PER_IP_PER_MINUTE,
    };
    this.presence = new Presence(this.options.presenceFlushMs, this.options.presenceBacklogBytes);
    this.udp = new UdpEndpoint(this);
    this.userFailures = new FailureBackoff(FREE_FAILURES_PER_USER, this.now);
    this.ipFailures = new FailureBackoff(FREE_FAILURES_PER_IP, this.now, 'after-failure');
    this.registrations = new WindowLimiter(this.options.registrationsPerMinutePerIp, 60_000, this.now);
    this.broadcasts = new Broadcasts(this, {
      store: options.broadcastStore,
      ttlMs: options.broadcastTtlMs,
      perMinute: options.broadcastsPerMinute,
      maxPending: options.maxPendingBroadcasts,
      retransmitBaseMs: options.broadcastRetransmitBaseMs,
    });
    this.udp.on('bcast_ack', (session, message) => handleBroadcastAck(this, session, message));
    // The relay sees the server only through RelayHost (section 6.6).
    this.relay = new RelayService({ now: () => this.now(), emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args) }, options.relay);
    this.peers = new PeerBroker(this, { ...options.peers, relay: this.relay });
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
      const reason = this.stopping ? 'server is shutting down' : `server is full (${this.options.maxConnections} connections)`;
      this.emit('refused', { ip, reason });
      conn.end({ t: 'error', code: this.stopping ? ErrorCode.SERVER_SHUTDOWN : ErrorCode.SERVER_FULL, message: reason, fatal: true });
      return;
    }
    const session = new ClientSession(this.nextConnId++, ip, conn, this.now());
    this.sessions.add(session);
    this.emit('connection', { conn: session.id, ip, connections: this.sessions.size });

    conn.on('message', (message) => this.dispatch(session, message));
    conn.on('invalid', (error, fatal, re) => this.onInvalid(session, error, fatal, re));
    conn.on('drain', () => {
      conn.resume();
      if (session.isOnline) this.presence.catchUp(session);
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
  goOnline(session: ClientSession, user: string, peerPort: number | undefined, re: number, registered: boolean): void {
    session.state = SessionState.ONLINE;
    session.user = user;
    session.peerPort = peerPort ?? null;
    const udp = session.grantUdp(this.now());
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
      udp: { port: this.udp.port, sid: udp.channel.sid.toString('base64url'), key: udp.channel.key.toString('base64url') },
    });
    // The list follows as presence batches, the first with reset (section 4.5).
    this.presence.sendList(session);
    this.emit('login', { user, ip: session.ip, replaced: previous !== undefined });
    this.hooks.emit('online', session);
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
      if (session.isOnline && session.user) this.store.touch(session.user, now);
      session.closeWith(ErrorCode.SERVER_SHUTDOWN, message);
    }
    await Promise.all([this.store.close(), this.broadcasts.close()]);
  }

  private dispatch(session: ClientSession, message: ClientMessage): void {
    const now = this.now();
    session.lastHeardAt = now;
    if (session.state === SessionState.CLOSED) return;
    const re = 'id' in message ? message.id : undefined;
    if (!session.takeToken(now)) {
      session.sendError(new ProtocolError(ErrorCode.RATE_LIMITED, 'too many messages; slow down', { retryAfterMs: 1_000 }), re);
      return;
    }
    const entry = handlers[message.t];
    if (!entry) {
      session.sendError(new ProtocolError(ErrorCode.UNKNOWN_TYPE, `this server does not handle "${message.t}"`), re);
      return;
    }
    if (entry.auth && session.state !== SessionState.ONLINE) {
      session.sendError(new ProtocolError(ErrorCode.NOT_AUTHENTICATED, 'log in or register first'), re);
      return;
    }
    // Backpressure (section 3.3): stop reading from a client that is not reading our replies.
    if (session.conn.pendingOutputBytes > OUTBOUND_HIGH_WATER_BYTES) session.conn.pause();
    Promise.resolve()
      .then(() => entry.handle(this, session, message as never))
      .catch((err: unknown) => {
        if (err instanceof ProtocolError) session.sendError(err, re);
        else {
          this.emit('server_error', { where: message.t, message: err instanceof Error ? err.message : String(err) });
          session.sendError(new ProtocolError(ErrorCode.INTERNAL, 'internal error'), re);
        }
      });
  }

  private onInvalid(session: ClientSession, error: ProtocolError, fatal: boolean, re: number | undefined): void {
    this.emit('protocol_error', { conn: session.id, ip: session.ip, code: error.code, message: error.message });
    session.invalidMessages += 1;
    if (fatal || session.invalidMessages > MAX_INVALID_MESSAGES) {
      session.closeReason ??= error.code;
      session.closeWith(error.code, fatal ? error.message : 'too many invalid messages');
      return;
    }
    session.sendError(error, re);
  }

  private onClose(session: ClientSession, err: Error | undefined): void {
    const wasOnline = session.state === SessionState.ONLINE;
    session.state = SessionState.CLOSED;
    this.sessions.delete(session);
    this.udp.unregister(session);
    const reason = session.closeReason ?? (err ? err.message : 'closed by client');
    if (wasOnline && session.user) {
      if (this.presence.remove(session)) this.store.touch(session.user, this.now());
      this.hooks.emit('offline', session);
      this.emit('logout', { user: session.user, ip: session.ip, reason });
    }
    this.emit('disconnect', { conn: session.id, ip: session.ip, user: session.user, reason, connections: this.sessions.size });
  }

  /** Timeouts and path liveness, once a second. */
  private sweep(): void {
    const now = this.now();
    for (const session of this.sessions) {
      if (session.state !== SessionState.ONLINE) {
        if (now - session.connectedAt > this.options.loginTimeoutMs) {
          session.closeReason = ErrorCode.LOGIN_TIMEOUT;
          session.closeWith(ErrorCode.LOGIN_TIMEOUT, `no login within ${Math.round(this.options.loginTimeoutMs / 1000)} s`);
        }
        continue;
      }
      if (now - session.lastHeardAt > this.options.idleTimeoutMs) {
        session.closeReason = ErrorCode.IDLE_TIMEOUT;
        session.closeWith(ErrorCode.IDLE_TIMEOUT, 'no keepalive from the client');
        continue;
      }
      const udp = session.udp;
      if (udp && udp.state === UdpPathState.ALIVE && now - udp.lastHeardAt > this.options.udpDeadAfterMs) {
        udp.state = UdpPathState.DEAD;
        this.emit('udp_path', { user: session.user as string, state: udp.state });
      }
    }
  }
}
