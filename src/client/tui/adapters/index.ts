/**
 * Builds the feature sources the TUI shows (sources.ts) from the real feature modules. They
 * are attached before login: the peer listener's port goes in the login.
 *
 * - Peer sessions (issue 3, src/client/peer/): PeerManagerSource.
 * - PENDING: broadcasts (issue 4, src/client/broadcasts.ts) have not landed on main yet.
 *   Until they do, `inbox` is left out and the TUI says "Broadcasts are not available in
 *   this build" when asked; nothing is faked. Wiring it is inbox-source.ts plus a few lines here.
 */
import type { P2PClient } from '../../client.ts';
import { PeerManager } from '../../peer/manager.ts';
import type { Features } from '../sources.ts';
import { PeerManagerSource } from './peer-source.ts';

export async function buildFeatures(client: P2PClient): Promise<Features> {
  const manager = new PeerManager(client);
  await manager.start();
  return {
    peers: new PeerManagerSource(manager),
    async close() {
      await manager.close();
    },
  };
}
