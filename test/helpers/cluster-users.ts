/**
 * Users on cluster test nodes. Until every node shares one account store, an account made on
 * one node is unknown on another: `signIn` registers, and logs in where the name is taken,
 * so the same test runs with per-node and shared stores.
 */
import type { P2PClient } from '../../src/client/client.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { passwordOf, type TestServer } from './server.ts';

/** Log a connected client in as `user` (registered first if its node does not know the name). */
export async function signIn(client: P2PClient, user: string): Promise<P2PClient> {
  try {
    await client.register(user, passwordOf(user));
  } catch (err) {
    if (!(err instanceof ProtocolError) || err.code !== ErrorCode.USERNAME_TAKEN) throw err;
    await client.login(user, passwordOf(user));
  }
  return client;
}

/** A client of `node` logged in as `user`. */
export async function online(
  node: TestServer,
  user: string,
  options: Parameters<TestServer['client']>[0] = {},
): Promise<P2PClient> {
  return signIn(await node.client(options), user);
}

/** The names in a client's online list, sorted. */
export const namesOf = (client: P2PClient): string[] => client.onlineUsers.map((u) => u.user).sort();
