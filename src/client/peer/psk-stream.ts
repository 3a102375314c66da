/**
 * The peer TLS-PSK handshake over any byte stream (PROTOCOL.md sections 6.3 and 6.6): the
 * requester is the TLS client, the target the TLS server, exactly as on a direct link, so a
 * relayed link has the same key schedule, forward secrecy and verification code. Node's TLS
 * runs over any Duplex, so the relay's spliced connection needs nothing special.
 */
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { assertPskSession, peerClientOptions, peerServerOptions } from '../../net/peer-tls.ts';
import { asError } from '../../util/as-error.ts';

export type PskRole = 'client' | 'server';

/** Resolves with the TLS socket once the handshake completed with exactly our PSK. */
export function pskOverStream(
  stream: Duplex,
  role: PskRole,
  reqId: string,
  key: Buffer,
  timeoutMs: number,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    let socket: TLSSocket;
    if (role === 'client') {
      const { host: _h, port: _p, ...options } = peerClientOptions('', 0, reqId, key);
      socket = tlsConnect({ ...options, socket: stream });
    } else {
      const options = peerServerOptions((_s, identity) => (identity === reqId ? key : null), timeoutMs);
      socket = new TLSSocket(stream, { ...options, isServer: true });
    }
    const timer = setTimeout(() => fail(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      stream.destroy();
      reject(
        new ProtocolError(ErrorCode.PEER_HANDSHAKE, `the peer handshake through the relay failed: ${err.message}`, {
          cause: err,
        }),
      );
    };
    const onClose = () => fail(new Error('the relayed stream closed'));
    socket.once('error', fail);
    socket.once('close', onClose);
    // 'secure' on the server side, 'secureConnect' on the client side.
    socket.once(role === 'client' ? 'secureConnect' : 'secure', () => done());
    const done = () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.off('close', onClose);
      try {
        assertPskSession(socket);
      } catch (err) {
        socket.destroy();
        reject(asError(err));
        return;
      }
      resolve(socket);
    };
  });
}
