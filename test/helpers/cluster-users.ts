/** Users of cluster tests: logged in on a given node, with a broadcast inbox. */
import { BroadcastInbox } from '../../src/client/broadcasts.ts';
import { ErrorCode } from '../../src/net/errors.ts';
import { userKey } from '../../src/net/names.ts';
import { PASSWORD, type User } from './broadcast.ts';
import type { TestServer } from './server.ts';
import { waitFor } from './wait.ts';

/**
 * `name` logged in on `node`, its inbox attached first. Registers, or logs in if the name is
 * taken: with the cluster's shared accounts a name registered on one node is taken on all;
 * with per-node accounts it is registered there. Either way the user ends up online on `node`.
 */
export async function userOn(node: TestServer, name: string): Promise<User> {
  const client = await node.client();
  const inbox = new BroadcastInbox(client);
  try {
    await client.register(name, PASSWORD);
  } catch (err) {
    if ((err as { code?: unknown }).code !== ErrorCode.USERNAME_TAKEN) throw err;
    await client.login(name, PASSWORD);
  }
  await waitFor(() => client.udpState === 'alive', { what: `${name}'s UDP path` });
  return { name, client, inbox };
}

/** The node's mirror has `user`'s ack of `bid` (told by the bus, or its own). */
export function ackedAt(node: TestServer, bid: string, user: string): boolean {
  return node.app.core.broadcasts.queue.get(bid)?.acked.has(userKey(user)) ?? false;
}
