/**
 * The target's side of peer links (PROTOCOL.md section 6.3): a TLS 1.3 server with no
 * certificate that completes a handshake only for a PSK identity (reqId) the server told us
 * about in connect_result, once, before the secret expires. Everything else fails inside the
 * TLS handshake (unknown identity, wrong key, plain TLS, garbage) and is closed at once; a
 * silent socket is cut after the handshake timeout. Started before login so its port can be
 * advertised (section 3.2, `peerPort`).
 */
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { EventEmitter } from 'eventemitter3';
import { normalizeIp } from '../../net/address.ts';
import type { Socket } from 'node:net';
import {
  MAX_PEER_CONNECTIONS,
  MAX_PEER_HANDSHAKES_PER_IP,
  PEER_HANDSHAKE_TIMEOUT_MS,
  PEER_SECRET_TTL_MS,
} from '../../net/constants.ts';
import { assertPskSession, derivePeerKey, peerServerOptions } from '../../net/peer-tls.ts';
import { PeerLink, type PeerLinkTimers } from './link.ts';

/** A connection's remote address and port: the raw socket and its TLS socket share it. */
const endpointKey = (s: { remoteAddress?: string; remotePort?: number }) => `${s.remoteAddress}|${s.remotePort}`;

/** The form of a request id (PROTOCOL.md section 6.1). */
const REQ_ID = /^[0-9a-f]{1,64}$/;

export interface PeerGrant {
  reqId: string;
  /** The 32-byte secret from connect_result. */
  secret: Buffer;
  selfUser: string;
  peerUser: string;
  peerIp: string;
  /**
   * Set for a grant this side does not answer as target (the requester's reverse rung,
   * section 6.6): the socket is handed over after the TLS handshake instead of becoming a
   * PeerLink here, because the requester chooses which link gets its hello.
   */
  onSecure?: (socket: TLSSocket) => void;
}

export interface PeerListenerOptions {
  /** Address to bind; default all interfaces. */
  host?: string;
  /** 0 (the default) lets the OS choose. */
  port?: number;
  secretTtlMs?: number;
  /** Timers for the links this listener accepts (handshakeTimeoutMs also bounds the TLS handshake). */
  link?: PeerLinkTimers;
  now?: () => number;
}

export type RefusalReason = 'unknown' | 'replayed' | 'expired' | 'handshake';

export interface PeerListenerEvents {
  /** A session whose TLS handshake and hello both checked out. */
  link: [PeerLink];
  /** A connection that was turned away. `reqId` is set once the identity was known. */
  refused: [{ address: string; reason: RefusalReason; detail: string; reqId?: string }];
  /** A grant nobody used in time. */
  expired: [string];
  /** The listening socket failed (accept errors such as EMFILE); it keeps listening if it can. */
  error: [Error];
}

interface Grant extends PeerGrant {
  key: Buffer;
  expiresAt: number;
  timer: NodeJS.Timeout;
}

export class PeerListener extends EventEmitter<PeerListenerEvents> {
  private readonly grants = new Map<string, Grant>();
  /** Spent or expired identities, remembered for a TTL so a replay is reported as one. */
  private readonly spent = new Map<string, RefusalReason>();
  /** The identity each socket presented, from the PSK callback to the end of the handshake. */
  private readonly identities = new WeakMap<TLSSocket, { reqId: string; refusal?: RefusalReason }>();
  /** Links past TLS, waiting for the peer's hello. */
  private readonly greeting = new Set<PeerLink>();
  /** TCP connections still in their TLS handshake: remote endpoint -> IP; and their count per IP. */
  private readonly handshaking = new Map<string, string>();
  private readonly handshakesPerIp = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly options: PeerListenerOptions,
  ) {
    super();
    this.ttlMs = options.secretTtlMs ?? PEER_SECRET_TTL_MS;
    this.now = options.now ?? Date.now;
    server.on('connection', (raw: Socket) => this.onConnection(raw));
    server.on('secureConnection', (socket: TLSSocket) => {
      this.handshakeDone(endpointKey(socket));
      this.onSecure(socket);
    });
    server.on('tlsClientError', (err, socket) => {
      // Read before destroy(), which clears the address.
      const address = normalizeIp(socket.remoteAddress);
      this.handshakeDone(endpointKey(socket));
      // Node closes sockets that fail the handshake, but not one that hit the handshake
      // timeout (it only reports it): cut every refused socket here, at once.
      socket.destroy();
      const seen = this.identities.get(socket);
      this.emit('refused', {
        address,
        reason: seen?.refusal ?? 'handshake',
        detail: err.message,
        // The identity is the dialer's text: passed on only when it has the form of a reqId.
        ...(seen && REQ_ID.test(seen.reqId) ? { reqId: seen.reqId } : {}),
      });
    });
  }

  static async start(options: PeerListenerOptions = {}): Promise<PeerListener> {
    const handshakeTimeoutMs = options.link?.handshakeTimeoutMs ?? PEER_HANDSHAKE_TIMEOUT_MS;
    let self: PeerListener | null = null;
    const server = createServer(
      peerServerOptions((socket, identity) => (self ? self.lookup(socket, identity) : null), handshakeTimeoutMs),
    );
    server.maxConnections = MAX_PEER_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    self = new PeerListener(server, (server.address() as { port: number }).port, options);
    const listener = self;
    server.on('error', (err: Error) => listener.emit('error', err));
    return self;
  }

  get pendingGrants(): number {
    return this.grants.size;
  }

  /** The server accepted a request for us (connect_result as target): let that one peer in. */
  expect(grant: PeerGrant): void {
    this.forget(grant.reqId);
    const timer = setTimeout(() => {
      if (!this.grants.delete(grant.reqId)) return;
      this.remember(grant.reqId, 'expired');
      this.emit('expired', grant.reqId);
    }, this.ttlMs);
    timer.unref();
    const key = derivePeerKey(grant.secret, grant.reqId);
    this.grants.set(grant.reqId, { ...grant, key, expiresAt: this.now() + this.ttlMs, timer });
  }

  forget(reqId: string): void {
    const grant = this.grants.get(reqId);
    if (grant) clearTimeout(grant.timer);
    this.grants.delete(reqId);
  }

  /**
   * Stop accepting and cut links still saying hello. Open links are their owner's to close;
   * they would keep server.close()'s callback waiting, so it is not awaited. A TLS handshake
   * in progress ends by itself within the handshake timeout.
   */
  close(): void {
    for (const grant of this.grants.values()) clearTimeout(grant.timer);
    this.grants.clear();
    for (const link of this.greeting) link.socket.destroy();
    this.greeting.clear();
    this.server.close();
  }

  /**
   * One host may hold at most MAX_PEER_HANDSHAKES_PER_IP handshakes open at once, so a host
   * without a secret cannot fill the listener's MAX_PEER_CONNECTIONS and lock real peers out.
   */
  private onConnection(raw: Socket): void {
    const ip = normalizeIp(raw.remoteAddress);
    const open = this.handshakesPerIp.get(ip) ?? 0;
    if (open >= MAX_PEER_HANDSHAKES_PER_IP) {
      raw.destroy();
      this.emit('refused', {
        address: ip,
        reason: 'handshake',
        detail: `${open} handshakes from this address are already open`,
      });
      return;
    }
    const key = endpointKey(raw);
    this.handshaking.set(key, ip);
    this.handshakesPerIp.set(ip, open + 1);
    // The key is taken now: a closed socket no longer has its address.
    raw.once('close', () => this.handshakeDone(key));
  }

  /** The handshake of this connection is over, one way or the other (idempotent). */
  private handshakeDone(key: string): void {
    const ip = this.handshaking.get(key);
    if (ip === undefined) return;
    this.handshaking.delete(key);
    const left = (this.handshakesPerIp.get(ip) ?? 1) - 1;
    if (left > 0) this.handshakesPerIp.set(ip, left);
    else this.handshakesPerIp.delete(ip);
  }

  /** PSK callback: the key for a live grant, else null (the handshake then fails). */
  private lookup(socket: TLSSocket, reqId: string): Buffer | null {
    const grant = this.grants.get(reqId);
    if (grant && this.now() <= grant.expiresAt) {
      this.identities.set(socket, { reqId });
      return grant.key;
    }
    this.identities.set(socket, { reqId, refusal: grant ? 'expired' : (this.spent.get(reqId) ?? 'unknown') });
    return null;
  }

  /**
   * The handshake proved the dialer holds the key. The grant is spent here, not in the PSK
   * callback, so that someone who saw the identity on the wire cannot burn it with a
   * handshake he cannot finish; of two finished handshakes for one grant, the second is cut.
   */
  private onSecure(socket: TLSSocket): void {
    const reqId = this.identities.get(socket)?.reqId;
    const grant = reqId === undefined ? undefined : this.grants.get(reqId);
    const address = normalizeIp(socket.remoteAddress);
    if (!grant || reqId === undefined) {
      this.emit('refused', {
        address,
        reason: 'replayed',
        detail: 'the session secret was already used',
        ...(reqId ? { reqId } : {}),
      });
      socket.destroy();
      return;
    }
    this.forget(reqId);
    this.remember(reqId, 'replayed');
    try {
      assertPskSession(socket);
    } catch (err) {
      this.emit('refused', { address, reason: 'handshake', detail: (err as Error).message, reqId });
      socket.destroy();
      return;
    }
    if (grant.onSecure) {
      grant.onSecure(socket);
      return;
    }
    const link = new PeerLink(socket, {
      ...this.options.link,
      reqId,
      role: 'target',
      selfUser: grant.selfUser,
      peerUser: grant.peerUser,
      peerIp: grant.peerIp,
    });
    this.greeting.add(link);
    link.ready().then(
      () => {
        this.greeting.delete(link);
        this.emit('link', link);
      },
      (err: Error) => {
        this.greeting.delete(link);
        this.emit('refused', { address, reason: 'handshake', detail: err.message, reqId });
      },
    );
  }

  private remember(reqId: string, reason: RefusalReason): void {
    this.spent.set(reqId, reason);
    setTimeout(() => this.spent.delete(reqId), this.ttlMs).unref();
  }
}
