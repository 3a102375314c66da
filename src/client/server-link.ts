/**
 * One TLS connection to the server (PROTOCOL.md section 3): connect, pin the certificate,
 * wait for `hello`, then requests matched to replies by id, and keepalive pings.
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { EventEmitter } from 'eventemitter3';
import { FramedConnection } from '../net/connection.ts';
import { MAX_REQUEST_ID, PROTOCOL_VERSION } from '../net/constants.ts';
import { ErrorCode, ProtocolError } from '../net/errors.ts';
import { toError } from '../net/error-message.ts';
import { serverMessages, type ClientMessage, type Msg, type ServerMessage } from '../net/messages.ts';
import { fingerprintOf } from '../net/tls.ts';
import { KnownHosts } from './known-hosts.ts';
import { formatServer } from './server-list.ts';

export const CONNECT_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const PING_TIMEOUT_MS = 10_000;

export interface TrustQuestion {
  host: string;
  port: number;
  fingerprint: string;
  /** The cluster's name (its nodes, section 3.7) when `host:port` is one node of several. */
  cluster?: string;
}
/** Asked on first contact with a server; true pins the fingerprint and goes on. */
export type TrustDecider = (question: TrustQuestion) => boolean | Promise<boolean>;

export interface LinkOptions {
  /** The server's name as given (shown, pinned, sent as TLS SNI). */
  host: string;
  port: number;
  /** The IP address to connect to when `host` is a name that resolved to several (default: `host`). */
  address?: string;
  /**
   * The name the certificate is pinned under (section 3.5; default `host:port`), and older
   * names to check when it has no pin: a cluster's sorted node list, then its nodes (section 3.7).
   */
  pin?: { name: string; fallbacks: readonly string[] };
  knownHosts: KnownHosts;
  trust: TrustDecider;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

type Hello = Msg<ServerMessage, 'hello'>;
/** Every client message that carries a request id, without it (the link assigns one). */
type RequestBody = ClientMessage extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

interface Pending {
  resolve: (reply: ServerMessage) => void;
  reject: (err: ProtocolError) => void;
  timer: NodeJS.Timeout;
}

export interface LinkEvents {
  /** A message that is not a reply to a request (presence, prompts, broadcasts, errors). */
  message: [ServerMessage];
  close: [ProtocolError];
}

export class ServerLink extends EventEmitter<LinkEvents> {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private pingTimer: NodeJS.Timeout | null = null;
  private closeReason: ProtocolError | null = null;

  private constructor(
    private readonly conn: FramedConnection<typeof serverMessages, ClientMessage>,
    readonly hello: Hello,
    readonly fingerprint: string,
    private readonly requestTimeoutMs: number,
  ) {
    super();
    conn.on('message', (m) => this.onMessage(m));
    conn.on('invalid', (err, fatal) => {
      if (fatal) this.closeReason ??= err;
    });
    conn.on('close', (err) => this.onClose(err));
  }

  /** Connect, verify the server's identity, and wait for its hello. */
  static async open(options: LinkOptions): Promise<ServerLink> {
    const { host, port } = options;
    const socket = await connectTls(
      host,
      options.address ?? host,
      port,
      options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    );
    // Until FramedConnection takes the socket, an error from it (the server dying while the
    // user reads the fingerprint prompt, or while known_hosts is read) must not go uncaught.
    let lost: Error | undefined;
    const onEarlyError = (err: Error) => void (lost ??= err);
    socket.on('error', onEarlyError);
    try {
      const fingerprint = fingerprintOf(socket.getPeerCertificate(false).raw);
      try {
        await verifyIdentity(options, fingerprint);
      } finally {
        socket.off('error', onEarlyError);
      }
      if (lost || socket.destroyed) {
        const why = lost ? lost.message : 'closed by the server';
        throw new ProtocolError(
          ErrorCode.UNREACHABLE,
          `lost the connection to ${host}:${port} while checking its identity: ${why}`,
          { cause: lost },
        );
      }
      const conn = new FramedConnection<typeof serverMessages, ClientMessage>(socket, serverMessages);
      const hello = await waitForHello(conn, options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
      if (hello.proto !== PROTOCOL_VERSION) {
        throw new ProtocolError(
          ErrorCode.VERSION,
          `server speaks protocol ${hello.proto}, this client ${PROTOCOL_VERSION}`,
        );
      }
      return new ServerLink(conn, hello, fingerprint, options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  get isOpen(): boolean {
    return this.conn.isOpen;
  }

  send(message: ClientMessage): void {
    this.conn.send(message);
  }

  /** Send a request and resolve with its reply; an `error` reply rejects with its code. */
  request(body: RequestBody): Promise<ServerMessage> {
    if (!this.conn.isOpen)
      return Promise.reject(new ProtocolError(ErrorCode.DISCONNECTED, 'not connected to the server'));
    const id = this.nextId;
    this.nextId = this.nextId >= MAX_REQUEST_ID ? 1 : this.nextId + 1;
    return new Promise<ServerMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError(ErrorCode.TIMEOUT, `no answer from the server to "${body.t}"`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.conn.send({ ...body, id });
    });
  }

  /** Ping every interval; a ping unanswered within PING_TIMEOUT_MS kills the link. */
  startKeepalive(intervalMs: number): void {
    this.stopKeepalive();
    this.pingTimer = setInterval(() => {
      const timeout = setTimeout(
        () => this.destroy(new ProtocolError(ErrorCode.TIMEOUT, 'server stopped answering')),
        PING_TIMEOUT_MS,
      );
      this.request({ t: 'ping' }).then(
        () => clearTimeout(timeout),
        () => clearTimeout(timeout),
      );
    }, intervalMs);
    this.pingTimer.unref();
  }

  close(): void {
    this.stopKeepalive();
    this.closeReason ??= new ProtocolError(ErrorCode.DISCONNECTED, 'closed');
    this.conn.end();
  }

  destroy(reason: ProtocolError): void {
    this.closeReason ??= reason;
    this.conn.destroy(reason);
  }

  private stopKeepalive(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private onMessage(message: ServerMessage): void {
    const re = 're' in message ? message.re : undefined;
    const waiter = re === undefined ? undefined : this.pending.get(re);
    if (waiter) {
      this.pending.delete(re as number);
      clearTimeout(waiter.timer);
      if (message.t === 'error') waiter.reject(toError(message));
      else waiter.resolve(message);
      return;
    }
    if (message.t === 'error' && message.fatal) this.closeReason ??= toError(message);
    this.emit('message', message);
  }

  private onClose(err: Error | undefined): void {
    this.stopKeepalive();
    const reason =
      this.closeReason ??
      new ProtocolError(
        ErrorCode.DISCONNECTED,
        err ? `connection lost: ${err.message}` : 'the server closed the connection',
        { cause: err },
      );
    for (const waiter of this.pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(reason);
    }
    this.pending.clear();
    this.emit('close', reason);
    this.removeAllListeners();
  }
}

function connectTls(host: string, address: string, port: number, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // The certificate is self-signed: we check it by pinned fingerprint, not by a CA chain.
    const socket = tlsConnect({
      host: address,
      port,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      servername: isIpLike(host) ? undefined : host,
    });
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      const where = address === host ? formatServer({ host, port }) : `${formatServer({ host, port })} (${address})`;
      reject(new ProtocolError(ErrorCode.UNREACHABLE, `cannot reach ${where}: ${err.message}`, { cause: err }));
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

function isIpLike(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

async function verifyIdentity(options: LinkOptions, fingerprint: string): Promise<void> {
  const { host, port, knownHosts } = options;
  const own = KnownHosts.key(host, port);
  const pin = options.pin ?? { name: own, fallbacks: [] };
  const check = await knownHosts.checkName(pin.name, pin.fallbacks, fingerprint);
  if (check.status === 'known') return;
  if (check.status === 'changed') {
    throw new ProtocolError(
      ErrorCode.FINGERPRINT_CHANGED,
      `WARNING: the identity of ${host}:${port} has changed!\n` +
        `  pinned:    ${check.pinned}\n` +
        `  presented: ${fingerprint}\n` +
        `Someone may be intercepting the connection, or the server's key was replaced. ` +
        `If the server's operator confirms the new fingerprint, remove the line for ${check.name} from ${knownHosts.path}.`,
    );
  }
  const cluster = pin.name === own ? {} : { cluster: pin.name };
  if (!(await options.trust({ host, port, fingerprint, ...cluster }))) {
    throw new ProtocolError(ErrorCode.FINGERPRINT_REJECTED, `the fingerprint of ${host}:${port} was not trusted`);
  }
  await knownHosts.pinName(pin.name, fingerprint);
}

function waitForHello(conn: FramedConnection<typeof serverMessages, ClientMessage>, timeoutMs: number): Promise<Hello> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new ProtocolError(ErrorCode.TIMEOUT, 'the server did not greet us')),
      timeoutMs,
    );
    const done = (result: Hello | ProtocolError) => {
      clearTimeout(timer);
      conn.off('message', onMessage);
      conn.off('close', onClose);
      if (result instanceof ProtocolError) reject(result);
      else resolve(result);
    };
    const onMessage = (m: ServerMessage) => {
      if (m.t === 'hello') done(m);
      else if (m.t === 'error') done(toError(m));
      else done(new ProtocolError(ErrorCode.BAD_MESSAGE, `expected hello, got ${m.t}`));
    };
    const onClose = () => done(new ProtocolError(ErrorCode.DISCONNECTED, 'the server closed the connection'));
    conn.on('message', onMessage);
    conn.on('close', onClose);
  });
}
