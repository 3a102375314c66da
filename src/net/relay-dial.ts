/**
 * A relay half, the client's side (PROTOCOL.md section 6.6): trade this side's relay token for
 * a ticket on the logged-in connection, open a fresh TLS connection to the same server (its
 * certificate must be the one the control connection pinned), send `relay_open`, and wait for
 * `relay_ready`. What follows on that connection is the other client's bytes: the caller runs
 * the peer TLS-PSK handshake over it exactly as on a direct link.
 */
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { parsePayload, encodeMessage } from './codec.ts';
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './constants.ts';
import { ErrorCode, ProtocolError } from './errors.ts';
import { serverMessages, type ClientMessage } from './messages.ts';
import { fingerprintOf } from './tls.ts';
import { toError } from './error-message.ts';

/** The id of the one request on a relay connection. */
const RELAY_OPEN_ID = 1;

/**
 * Only for a cluster node bridging to another node (docs/CLUSTER.md): its single-use ticket
 * from Redis is the authentication, and the bytes are the peers' own TLS-PSK either way.
 */
export const UNPINNED = Symbol('unpinned');

export interface RelayOpenOptions {
  host: string;
  port: number;
  /** The fingerprint the control connection verified (known_hosts), or UNPINNED. */
  fingerprint: string | typeof UNPINNED;
  ticket: string;
  /** Gives up on the connect and on waiting for the other side after this. */
  timeoutMs: number;
  /** Aborting closes the half (another rung won). */
  signal?: AbortSignal;
}

export function openRelay(options: RelayOpenOptions): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const { host, port } = options;
    const socket: TLSSocket = tlsConnect({ host, port, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
    let buffered: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (err: ProtocolError | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) {
        socket.destroy();
        reject(err);
        return;
      }
      socket.pause();
      if (buffered.length > 0) socket.unshift(buffered);
      resolve(socket);
    };
    const timer = setTimeout(
      () =>
        finish(
          new ProtocolError(
            ErrorCode.TIMEOUT,
            `the relay at ${host}:${port} did not pair us within ${Math.round(options.timeoutMs / 1000)} s`,
          ),
        ),
      options.timeoutMs,
    );
    const onAbort = () => finish(new ProtocolError(ErrorCode.DISCONNECTED, 'relay attempt abandoned'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const onClose = () =>
      finish(new ProtocolError(ErrorCode.UNREACHABLE, `the relay at ${host}:${port} closed the connection`));
    socket.once('error', (err: Error) =>
      finish(
        new ProtocolError(ErrorCode.UNREACHABLE, `cannot reach the relay at ${host}:${port}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    socket.on('close', onClose);
    socket.once('secureConnect', () => {
      const fingerprint = fingerprintOf(socket.getPeerCertificate(false).raw);
      if (options.fingerprint !== UNPINNED && fingerprint !== options.fingerprint) {
        finish(
          new ProtocolError(
            ErrorCode.FINGERPRINT_CHANGED,
            `the relay at ${host}:${port} presented another certificate than the server`,
          ),
        );
        return;
      }
      socket.setNoDelay(true);
      socket.write(
        encodeMessage({ t: 'relay_open', id: RELAY_OPEN_ID, ticket: options.ticket } satisfies ClientMessage),
      );
    });
    // Frames until relay_ready; the bytes after it (the peer's handshake may share the read) are given back.
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (!settled && buffered.length >= FRAME_HEADER_BYTES) {
        const length = buffered.readUInt32BE(0);
        if (length > MAX_FRAME_BYTES)
          return finish(new ProtocolError(ErrorCode.FRAME_TOO_LARGE, 'the relay sent an oversized frame'));
        if (buffered.length < FRAME_HEADER_BYTES + length) return;
        const payload = buffered.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length);
        buffered = buffered.subarray(FRAME_HEADER_BYTES + length);
        const decoded = parsePayload(serverMessages, payload);
        if (!decoded.ok)
          return finish(
            new ProtocolError(ErrorCode.BAD_MESSAGE, `the relay sent a bad frame: ${decoded.error.message}`),
          );
        const m = decoded.message;
        if (m.t === 'error') return finish(toError(m));
        if (m.t === 'relay_ready') return finish(null);
        // `hello` and anything else before relay_ready: nothing to do.
      }
    };
    socket.on('data', onData);
    if (options.signal?.aborted) onAbort();
  });
}
