/**
 * Real `bin/p2p-server` processes in cluster mode on one test Redis (for SIGKILL tests), and
 * clients for them; everything is killed, closed and removed when the test ends.
 */
import type { TestContext } from 'node:test';
import { P2PClient, type ClientOptions } from '../../src/client/client.ts';
import { defer } from './cleanup.ts';
import { signIn } from './cluster-users.ts';
import { startRedis, type RedisInstance } from './redis.ts';
import { tempDir } from './server.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

export interface ProcessCluster {
  redis: RedisInstance;
  /** node1..nodeN, in order. */
  nodes: ServerProcess[];
  /**
   * A client of node `index` (0-based) logged in as `user` (registered there if unknown);
   * `prepare` runs between connecting and logging in (to start a peer listener).
   */
  online(
    index: number,
    user: string,
    options?: Partial<ClientOptions>,
    prepare?: (client: P2PClient) => Promise<void>,
  ): Promise<P2PClient>;
}

export async function processCluster(t: TestContext, count: number): Promise<ProcessCluster> {
  const redis = await startRedis(t);
  const nodes: ServerProcess[] = [];
  const clients: P2PClient[] = [];
  const dirs: Array<{ remove(): Promise<void> }> = [];
  defer(t, async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    await Promise.all(dirs.map((d) => d.remove()));
  });
  // One at a time: each start loads the source through tsx, which is slow on a busy machine.
  for (let i = 1; i <= count; i++) {
    const data = await tempDir(`node${i}`);
    dirs.push(data);
    nodes.push(await startServerProcess(data.path, ['--cluster', redis.url, '--node-id', `node${i}`]));
  }
  const online: ProcessCluster['online'] = async (index, user, options = {}, prepare) => {
    const node = nodes[index];
    if (!node) throw new Error(`no node ${index}`);
    const config = await tempDir('client');
    dirs.push(config);
    const client = new P2PClient({ host: '127.0.0.1', port: node.port, configDir: config.path, ...options });
    clients.push(client);
    await client.connect();
    await prepare?.(client);
    return signIn(client, user);
  };
  return { redis, nodes, online };
}
