/**
 * The sending side of a two-process peer bench: start the child's PeerListener and bare TLS
 * server (both keyed from one secret), dial a PeerLink to the first and a bare TLS-PSK socket
 * to the second, the same TLS configuration and cipher suite for both.
 */
import { randomBytes } from 'node:crypto';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { dialPeer } from '../../src/client/peer/dial.ts';
import type { PeerLink } from '../../src/client/peer/link.ts';
import { derivePeerKey, peerClientOptions } from '../../src/net/peer-tls.ts';
import type { Child } from './ipc.ts';

export async function dialChild(child: Child): Promise<{ link: PeerLink; bare: () => Promise<TLSSocket> }> {
  const reqId = randomBytes(16).toString('hex');
  const secret = randomBytes(32);
  const bareId = randomBytes(16).toString('hex');
  const ports = await child.call<{ peerPort: number; barePort: number }>('start', {
    reqId,
    secret: secret.toString('base64url'),
    bareId,
  });
  const link = await dialPeer({
    host: '127.0.0.1',
    port: ports.peerPort,
    reqId,
    secret,
    selfUser: 'sender',
    peerUser: 'receiver',
  });
  const bare = async () => {
    const socket = tlsConnect(peerClientOptions('127.0.0.1', ports.barePort, bareId, derivePeerKey(secret, bareId)));
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return socket;
  };
  return { link, bare };
}
