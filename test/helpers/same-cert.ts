/**
 * Two plain servers that share one certificate, as a cluster's nodes do (docs/CLUSTER.md
 * "Clients and server identity"): for client failover tests that need no Redis. Without a
 * shared store each node has its own accounts: `account` registers a user on each.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { ServerAddress } from '../../src/client/server-list.ts';
import { testServer, type TestServer } from './server.ts';

/** The second is given the first one's key and certificate (--tls-cert/--tls-key). */
export async function sameCertNodes(t: TestContext): Promise<[TestServer, TestServer]> {
  const one = await testServer(t);
  const two = await testServer(t, {
    tlsCert: join(one.dataDir, 'server-cert.pem'),
    tlsKey: join(one.dataDir, 'server-key.pem'),
  });
  assert.equal(one.app.identity.fingerprint, two.app.identity.fingerprint);
  return [one, two];
}

/** Register `user` with `pass` on each server, then log out. */
export async function account(user: string, pass: string, ...servers: TestServer[]): Promise<void> {
  for (const server of servers) {
    const client = await server.client({ reconnect: false });
    await client.register(user, pass);
    await client.close();
  }
}

export const addressOf = (server: TestServer): ServerAddress => ({ host: '127.0.0.1', port: server.port });
