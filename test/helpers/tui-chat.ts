/**
 * Whole chats for the TUI tests: a headless user with the real peer module and inbox, and a
 * chat that a headless user asked for and the TUI user accepted.
 */
import type { P2PClient } from '../../src/client/client.ts';
import { BroadcastInbox } from '../../src/client/broadcasts.ts';
import { PeerManager } from '../../src/client/peer/manager.ts';
import type { TestContext } from 'node:test';
import type { ServerAppOptions } from '../../src/server/app.ts';
import { defer } from './cleanup.ts';
import { Keys } from './terminal.ts';
import { startTestServer, type TestServer } from './server.ts';
import { registeredTui, type RegisteredTui } from './tui.ts';

export interface Headless {
  client: P2PClient;
  peers: PeerManager;
  inbox: BroadcastInbox;
}

/** A headless user with the real peer module and inbox. */
export async function headless(server: TestServer, user: string): Promise<Headless> {
  const client = await server.client();
  const peers = new PeerManager(client);
  await peers.start();
  const inbox = new BroadcastInbox(client);
  await client.register(user, `${user} password`);
  return { client, peers, inbox };
}

/** `from` asks the TUI user for a chat, who accepts with Alt-Y and goes to the new tab with Alt-A: `from`'s end of the link. */
export async function acceptedChat(to: RegisteredTui, from: Headless, toUser: string, fromUser: string) {
  const asked = from.peers.requestPeer({ user: toUser });
  await to.vt.waitForText('wants to chat with you');
  to.vt.type(Keys.alt('y'));
  const result = await asked;
  if (result.outcome !== 'accepted') throw new Error(`not accepted: ${result.outcome}`);
  await to.vt.waitForText(`new chat: 2 ${fromUser}`);
  to.vt.type(Keys.alt('a'));
  await to.vt.waitForText(`Message to ${fromUser}`);
  return result.link;
}

/** A server, alice in the TUI and bob headless, all stopped when the test ends. */
export async function aliceAndBob(
  t: TestContext,
  options: { columns?: number; rows?: number; server?: Partial<ServerAppOptions> } = {},
): Promise<{ server: TestServer; alice: RegisteredTui; bob: Headless }> {
  const server = await startTestServer(options.server);
  const alice = await registeredTui(server, 'alice', options);
  const bob = await headless(server, 'bob');
  defer(t, async () => {
    bob.inbox.close();
    await bob.peers.close();
    await alice.close();
    await server.close();
  });
  return { server, alice, bob };
}
