/**
 * The receiving peers of bench/relay.ts in their own process, as two real peers would be:
 * `bob` (reachable: the direct chat) and `dave` (advertises a port that refuses: relayed).
 * Both accept every request and read everything (PeerLink acks by itself, once per read).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { P2PClient } from '../../src/client/client.ts';
import { PeerManager } from '../../src/client/peer/manager.ts';
import { closedPort } from './closed-port.ts';
import { serveCalls } from './ipc.ts';

const dirs: string[] = [];
const managers: PeerManager[] = [];

serveCalls({
  async start(args: { port: number }) {
    for (const [user, reachable] of [
      ['bob', true],
      ['dave', false],
    ] as const) {
      const configDir = await mkdtemp(join(tmpdir(), 'p2p-bench-peer-'));
      dirs.push(configDir);
      const client = new P2PClient({ host: '127.0.0.1', port: args.port, configDir });
      const peers = new PeerManager(client, { host: '127.0.0.1' });
      managers.push(peers);
      await peers.start();
      if (!reachable) client.peerPort = await closedPort();
      await client.connect();
      await client.register(user, `password-${user}`);
      peers.on('prompt', (p) => void peers.accept(p.reqId).catch(() => {}));
      peers.on('session', (link) => link.on('message', () => {}));
    }
    return true;
  },
  async stop() {
    await Promise.all(
      managers.map(async (m) => {
        await m.close().catch(() => {});
        await m.client.close().catch(() => {});
      }),
    );
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    return true;
  },
});
