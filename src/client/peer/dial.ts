/**
 * The requester's side of a peer link (PROTOCOL.md section 6.3): dial the target's listener
 * with the PSK derived from the session secret, then run the hello exchange.
 *
 * The server sends connect_result to the target first, but the target's copy and our dial
 * race over different paths, so the target may not know the secret yet when our handshake
 * arrives. A refused handshake costs the target nothing (the secret is spent only by a
 * completed one), so it is retried a few times with a short back-off. Nothing else is
 * retried: no listener, no answer within the handshake timeout, or a listener that is not a
 * p2p-broadcast peer (it presents a certificate) will not change in a second.
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { PEER_DIAL_ATTEMPTS, PEER_DIAL_RETRY_BASE_MS, PEER_HANDSHAKE_TIMEOUT_MS } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { assertPskSession, derivePeerKey, peerClientOptions } from '../../net/peer-tls.ts';
import { PeerLink, type PeerLinkTimers } from './link.ts';

export interface DialOptions extends PeerLinkTimers {
  host: string;
  port: number;
  reqId: string;
  /** The 32-byte secret from connect_result. */
  secret: Buffer;
  selfUser: string;
  peerUser: string;
  attempts?: number;
  retryBaseMs?: number;
}

export async function dialPeer(options: DialOptions): Promise<PeerLink> {
  const socket = await dialPskSocket(options);
  const link = new PeerLink(socket, { ...options, role: 'requester', peerIp: options.host });
  await link.ready();
  return link;
}

/**
 * Dial and complete the TLS-PSK handshake only (no hello): the connection ladder (section
 * 6.6) decides which link gets the hello. `deadlineMs` bounds all attempts together.
 */
export async function dialPskSocket(
  options: Omit<DialOptions, 'selfUser' | 'peerUser'> & { deadlineMs?: number },
): Promise<TLSSocket> {
  const key = derivePeerKey(options.secret, options.reqId);
  const attempts = options.attempts ?? PEER_DIAL_ATTEMPTS;
  const baseMs = options.retryBaseMs ?? PEER_DIAL_RETRY_BASE_MS;
  const handshakeMs = options.handshakeTimeoutMs ?? PEER_HANDSHAKE_TIMEOUT_MS;
  const giveUpAt = Date.now() + (options.deadlineMs ?? Infinity);
  let lastError: ProtocolError | null = null;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, baseMs * 2 ** (attempt - 1)));
    const timeoutMs = Math.min(handshakeMs, giveUpAt - Date.now());
    if (timeoutMs <= 0) break;
    let socket: TLSSocket;
    try {
      socket = await connectPsk(options.host, options.port, options.reqId, key, timeoutMs);
    } catch (err) {
      if (!(err instanceof DialFailure) || !err.retryable) throw err;
      lastError = err;
      continue;
    }
    // Past the TLS handshake nothing is retried: the secret is spent.
    try {
      assertPskSession(socket);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return socket;
  }
  throw (
    lastError ??
    new ProtocolError(ErrorCode.UNREACHABLE, `peer at ${options.host}:${options.port} did not answer in time`)
  );
}

/** A failed dial; `retryable` when a listener refused our key (it may not know it yet). */
export class DialFailure extends ProtocolError {
  /** `syscall`: the socket error's code (ECONNREFUSED, ETIMEDOUT...), for the plain words of section 6.6. */
  constructor(
    code: ErrorCode,
    message: string,
    readonly retryable: boolean,
    cause: Error,
    readonly syscall?: string,
  ) {
    super(code, message, { cause });
  }
}

function connectPsk(host: string, port: number, reqId: string, key: Buffer, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(peerClientOptions(host, port, reqId, key));
    let reached = false;
    socket.once('connect', () => (reached = true));
    const timer = setTimeout(() => fail(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error & { code?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      // A TLS alert: a listener refused our key. Any other failure after the TCP connect:
      // whatever answered is not a peer listener (a certificate, silence). Before: nobody there.
      const alert = typeof err.code === 'string' && err.code.startsWith('ERR_SSL');
      if (alert)
        reject(
          new DialFailure(
            ErrorCode.PEER_HANDSHAKE,
            `peer at ${host}:${port} refused the session key: ${err.message}`,
            true,
            err,
          ),
        );
      else if (reached)
        reject(
          new DialFailure(
            ErrorCode.PEER_HANDSHAKE,
            `peer at ${host}:${port} did not complete a peer handshake: ${err.message}`,
            false,
            err,
          ),
        );
      else
        reject(
          new DialFailure(
            ErrorCode.UNREACHABLE,
            `peer at ${host}:${port} is unreachable: ${err.message}`,
            false,
            err,
            (err as { code?: string }).code,
          ),
        );
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}
