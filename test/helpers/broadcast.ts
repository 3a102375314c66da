/** Logged-in clients with a broadcast inbox, for the broadcast tests. */
import type { P2PClient, ClientOptions } from '../../src/client/client.ts';
import { BroadcastInbox, type InboxOptions } from '../../src/client/broadcasts.ts';
import type { TestServer } from './server.ts';
import type { UdpProxy } from './udp-proxy.ts';
import { waitFor } from './wait.ts';

export const PASSWORD = 'correct horse battery';

export interface User {
  name: string;
  client: P2PClient;
  inbox: BroadcastInbox;
}

export interface UserOptions {
  /** Log in to an existing account instead of registering one. */
  login?: boolean;
  proxy?: UdpProxy;
  /** Wait until the UDP path is alive (false when the proxy blocks it). */
  waitUdp?: boolean;
  client?: Partial<ClientOptions>;
  inbox?: InboxOptions;
}

export async function onlineUser(server: TestServer, name: string, options: UserOptions = {}): Promise<User> {
  const client = await server.client({
    ...(options.proxy ? { udpTarget: options.proxy.address } : {}),
    ...options.client,
  });
  // Attach before logging in: the backlog arrives right behind `welcome` (section 7.2).
  const inbox = new BroadcastInbox(client, options.inbox);
  if (options.login) await client.login(name, PASSWORD);
  else await client.register(name, PASSWORD);
  if (options.waitUdp ?? true) await waitFor(() => client.udpState === 'alive', { what: `${name}'s UDP path` });
  return { name, client, inbox };
}

/** Wait until the inbox shows the broadcast; returns how many times it was shown (always 1 if right). */
export async function received(user: User, bid: string, timeoutMs = 10_000): Promise<number> {
  await waitFor(() => user.inbox.has(bid), { what: `${user.name} to receive ${bid}`, timeoutMs });
  return user.inbox.items.filter((item) => item.bid === bid).length;
}

export function bidsOf(user: User): string[] {
  return user.inbox.items.map((item) => item.bid);
}
