/**
 * Users on cluster test nodes. `signIn` registers, and logs in where the name is taken: with
 * the cluster's shared accounts a name registered on one node is taken on all, so a test can
 * put the same user on any node without caring where it was registered.
 */
import { BroadcastInbox } from '../../src/client/broadcasts.ts';
import type { P2PClient } from '../../src/client/client.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { userKey } from '../../src/net/names.ts';
import { PASSWORD, type User } from './broadcast.ts';
import { passwordOf, type TestServer } from './server.ts';
import { waitFor } from './wait.ts';

/** Log a connected client in as `user` (registered first if the cluster does not know the name). */
export async function signIn(client: P2PClient, user: string, password = passwordOf(user)): Promise<P2PClient> {
  try {
    await client.register(user, password);
  } catch (err) {
    if (!(err instanceof ProtocolError) || err.code !== ErrorCode.USERNAME_TAKEN) throw err;
    await client.login(user, password);
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

/** `name` logged in on `node` with its broadcast inbox attached first, its UDP path alive. */
export async function userOn(node: TestServer, name: string): Promise<User> {
  const client = await node.client();
  const inbox = new BroadcastInbox(client);
  await signIn(client, name, PASSWORD);
  await waitFor(() => client.udpState === 'alive', { what: `${name}'s UDP path` });
  return { name, client, inbox };
}

/** The node's mirror has `user`'s ack of `bid` (told by the bus, or its own). */
export function ackedAt(node: TestServer, bid: string, user: string): boolean {
  return node.app.core.broadcasts.queue.get(bid)?.acked.has(userKey(user)) ?? false;
}
