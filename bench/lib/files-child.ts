/**
 * The receiving process of bench/files.ts: a real PeerListener whose links feed a
 * FileTransfers that accepts every offer into a temporary directory, and a bare TLS server
 * with the same PSK configuration that writes what it reads to a file and answers one byte
 * when `expect`'s size has arrived (an scp-like baseline: no framing, no hashing).
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import { FileTransfers } from '../../src/client/files/transfers.ts';
import { PeerListener } from '../../src/client/peer/listener.ts';
import { PEER_HANDSHAKE_TIMEOUT_MS } from '../../src/net/constants.ts';
import { derivePeerKey, peerServerOptions } from '../../src/net/peer-tls.ts';
import { serveCalls } from './ipc.ts';

const dir = mkdtempSync(join(tmpdir(), 'p2p-bench-files-'));
const cleanUp = () => rmSync(dir, { recursive: true, force: true });
process.on('SIGTERM', () => {
  cleanUp();
  process.exit(0);
});
process.on('exit', cleanUp);

let expected = 0;

function receiveBare(socket: TLSSocket): void {
  let got = 0;
  const out = createWriteStream(join(dir, `bare-${Date.now()}.bin`));
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    got += chunk.length;
    if (!out.write(chunk)) {
      socket.pause();
      out.once('drain', () => socket.resume());
    }
    if (got === expected) out.end(() => socket.write(Buffer.from([1])));
  });
}

serveCalls({
  async start(args: { reqId: string; secret: string; bareId: string }) {
    const secret = Buffer.from(args.secret, 'base64url');
    const files = new FileTransfers({ downloadDir: dir, maxFileBytes: Number.MAX_SAFE_INTEGER });
    files.on('offer', (o) => void files.accept(o.id));
    const listener = await PeerListener.start({ host: '127.0.0.1' });
    listener.expect({ reqId: args.reqId, secret, selfUser: 'receiver', peerUser: 'sender', peerIp: '127.0.0.1' });
    listener.on('link', (link) => files.attach(link));
    const bareKey = derivePeerKey(secret, args.bareId);
    const bare = createServer(
      peerServerOptions((_socket, identity) => (identity === args.bareId ? bareKey : null), PEER_HANDSHAKE_TIMEOUT_MS),
    );
    bare.on('secureConnection', receiveBare);
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    return { peerPort: listener.port, barePort: (bare.address() as { port: number }).port };
  },
  expect(args: { bytes: number }) {
    expected = args.bytes;
    return true;
  },
  /** Remove what arrived, so the next run does not fill the disk. */
  async clear() {
    await rm(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    return true;
  },
});
