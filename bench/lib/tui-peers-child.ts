/**
 * Peers for the TUI bench, in their own process so the client's memory figure is its own:
 * N headless users (client core + real PeerManager) that each ask the bench's user for a
 * chat (one request per user: the server allows each user 10 a minute), and on request send
 * messages over their links (waiting for `drain` when a link pushes back).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { P2PClient } from '../../src/client/client.ts';
import type { PeerLink } from '../../src/client/peer/link.ts';
import { PeerManager } from '../../src/client/peer/manager.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { serveCalls } from './ipc.ts';

const managers: PeerManager[] = [];
const clients: P2PClient[] = [];
const links: PeerLink[] = [];
const dirs: string[] = [];

async function sendAll(link: PeerLink, count: number, text: string): Promise<void> {
  for (let i = 0; i < count;) {
    try {
      link.send(`${i} ${text}`);
      i += 1;
    } catch (err) {
      if (!(err instanceof ProtocolError) || err.code !== ErrorCode.RATE_LIMITED) throw err;
      await new Promise<void>((r) => link.once('drain', () => r()));
    }
  }
}

serveCalls({
  async start(args: { port: number; count: number; prefix: string; pass: string }) {
    const names: string[] = [];
    for (let i = 0; i < args.count; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'p2p-bench-peer-'));
      dirs.push(dir);
      const client = new P2PClient({ host: '127.0.0.1', port: args.port, configDir: dir });
      const peers = new PeerManager(client);
      await peers.start();
      peers.on('session', (link) => links.push(link));
      await client.register(`${args.prefix}${i}`, args.pass);
      clients.push(client);
      managers.push(peers);
      names.push(`${args.prefix}${i}`);
    }
    return names;
  },
  /** Each peer asks `user` for a chat, one after the other (the bench answers each modal with y). */
  async ask(args: { user: string }) {
    for (const peers of managers) {
      const result = await peers.requestPeer({ user: args.user });
      if (result.outcome !== 'accepted') throw new Error(`request ${result.outcome}`);
    }
    return links.length;
  },
  async send(args: { perLink: number; text: string }) {
    await Promise.all(links.map((link) => sendAll(link, args.perLink, args.text)));
    return links.length;
  },
  async stop() {
    await Promise.all(managers.map((m) => m.close()));
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    return true;
  },
});

process.on('SIGTERM', () => process.exit(0));
