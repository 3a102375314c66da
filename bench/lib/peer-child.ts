/**
 * The receiving process of bench/peer-link.ts: a real PeerListener that takes one link and
 * reads everything (PeerLink acks by itself, once per read), and a bare TLS server with the
 * same PSK configuration that counts length-prefixed frames and answers each read with the
 * running count as 4 bytes.
 */
import { createServer, type TLSSocket } from 'node:tls';
import { PeerListener } from '../../src/client/peer/listener.ts';
import { FRAME_HEADER_BYTES, PEER_HANDSHAKE_TIMEOUT_MS } from '../../src/net/constants.ts';
import { derivePeerKey, peerServerOptions } from '../../src/net/peer-tls.ts';
import { serveCalls } from './ipc.ts';

/** Counts frames without copying payloads; keeps only a partial header between reads. */
function countFrames(socket: TLSSocket): void {
  let count = 0;
  let skip = 0;
  let header: Buffer = Buffer.alloc(0);
  const ack = Buffer.allocUnsafe(4);
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => {
    let offset = 0;
    while (offset < chunk.length) {
      if (skip > 0) {
        const take = Math.min(skip, chunk.length - offset);
        skip -= take;
        offset += take;
        if (skip === 0) count += 1;
        continue;
      }
      const need = FRAME_HEADER_BYTES - header.length;
      const part = chunk.subarray(offset, offset + need);
      header = header.length ? Buffer.concat([header, part]) : part;
      offset += part.length;
      if (header.length < FRAME_HEADER_BYTES) break;
      skip = header.readUInt32BE(0);
      header = Buffer.alloc(0);
      if (skip === 0) count += 1;
    }
    ack.writeUInt32BE(count >>> 0, 0);
    socket.write(Buffer.from(ack));
  });
  socket.on('error', () => {});
}

serveCalls({
  async start(args: { reqId: string; secret: string; bareId: string }) {
    const secret = Buffer.from(args.secret, 'base64url');
    const listener = await PeerListener.start({ host: '127.0.0.1' });
    listener.expect({ reqId: args.reqId, secret, selfUser: 'receiver', peerUser: 'sender', peerIp: '127.0.0.1' });
    listener.on('link', (link) => link.on('message', () => {}));

    const bareKey = derivePeerKey(secret, args.bareId);
    const bare = createServer(
      peerServerOptions((_socket, identity) => (identity === args.bareId ? bareKey : null), PEER_HANDSHAKE_TIMEOUT_MS),
    );
    bare.on('secureConnection', countFrames);
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    return { peerPort: listener.port, barePort: (bare.address() as { port: number }).port };
  },
});
