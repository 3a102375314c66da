/**
 * Cluster nodes in this process for tests: one real redis-server (test/helpers/redis.ts) and
 * N servers in cluster mode on it, each with its own data dir and ports, all stopped when the
 * test ends. Each call gets its own key prefix, so clusters never see one another's keys.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { ServerAppOptions } from '../../src/server/app.ts';
import { startRedis, type RedisInstance, type RedisOptions } from './redis.ts';
import { testServer, type TestServer } from './server.ts';

export interface ClusterOptions extends Partial<ServerAppOptions> {
  /** Nodes to start (default 2). */
  nodes?: number;
  /** Use this Redis instead of starting one. */
  redis?: RedisInstance;
  redisOptions?: RedisOptions;
}

export interface TestCluster {
  redis: RedisInstance;
  /** Key prefix of this cluster in Redis. */
  prefix: string;
  nodes: TestServer[];
  /** Start one more node on the same Redis and prefix. */
  addNode(options?: Partial<ServerAppOptions>): Promise<TestServer>;
}

export async function testCluster(t: TestContext, options: ClusterOptions = {}): Promise<TestCluster> {
  const { nodes: count = 2, redis: given, redisOptions, ...serverOptions } = options;
  const redis = given ?? (await startRedis(t, redisOptions));
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  let next = 1;
  const addNode = (extra: Partial<ServerAppOptions> = {}) =>
    testServer(t, {
      ...serverOptions,
      ...extra,
      cluster: { url: redis.url, prefix, nodeId: `node${next++}`, ...extra.cluster },
    });
  const nodes: TestServer[] = [];
  for (let i = 0; i < count; i++) nodes.push(await addNode());
  return { redis, prefix, nodes, addNode };
}
