/**
 * What the two users read when a chat cannot connect (PROTOCOL.md section 6.6): the app
 * in-process with the real peer module, both users "behind NAT" (their advertised port
 * refuses) and a server whose relay is off. Both are told at once, in their own words, which
 * way failed and why; neither is told the server failed or timed out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerManager } from '../../../src/client/peer/manager.ts';
import { closedPort } from '../../helpers/peers.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { defer } from '../../helpers/cleanup.ts';
import { Keys } from '../../helpers/terminal.ts';
import { registeredTui, type RegisteredTui } from '../../helpers/tui.ts';

/** A TUI user "behind NAT": the peer port it advertises refuses. */
function unreachableTui(server: TestServer, user: string): Promise<RegisteredTui> {
  return registeredTui(server, user, {
    columns: 120,
    beforeLogin: async (client) => {
      client.peerPort = await closedPort(); // advertised, but nothing answers there
    },
  });
}

test('no path and no relay: both users are told at once what failed, each from their side', async (t) => {
  const server = await startTestServer({ relay: { maxCircuits: 0 } });
  const alice = await unreachableTui(server, 'alice');
  const bob = await unreachableTui(server, 'bob');
  defer(t, async () => {
    await alice.close();
    await bob.close();
    await server.close();
  });
  alice.vt.type('/connect bob\r');
  await bob.vt.waitForText('wants to chat with you');
  bob.vt.type(Keys.alt('y'));
  // The notes wrap: read them with the pane borders and line breaks folded to spaces.
  const flat = (screen: string) => screen.replace(/[│\s]+/g, ' ');
  const mine = flat(await alice.vt.waitForText('No chat with bob (127.0.0.1): No way through to bob.'));
  const theirs = flat(await bob.vt.waitForText('No chat with alice (127.0.0.1): No way through to alice.'));
  assert.match(mine, /direct: 127\.0\.0\.1:\d+ refused the connection \(a NAT router or firewall in front of bob\)/);
  assert.match(mine, /relay: the server does not relay chats\./);
  assert.match(theirs, /calling alice back: 127\.0\.0\.1:\d+ refused the connection/);
  assert.match(theirs, /relay: the server does not relay chats\./);
  for (const screen of [mine, theirs])
    assert.doesNotMatch(screen, /Cannot reach the server|did not answer in time|\(\?\)/);
});

test('a relayed chat ends with the server, says so, and is offered again when the server is back', async (t) => {
  const server = await startTestServer();
  const alice = await unreachableTui(server, 'alice');
  const bobClient = await server.client({ reconnect: true });
  const bob = new PeerManager(bobClient, { host: '127.0.0.1' });
  await bob.start();
  bobClient.peerPort = await closedPort();
  await bobClient.register('bob', 'bob password');
  defer(t, async () => {
    await bob.close();
    await alice.close();
    await server.close();
  });
  bob.once('prompt', (p) => void bob.accept(p.reqId));
  alice.vt.type('/connect bob\r');
  // The chat opens in the background; Alt-A goes there.
  await alice.vt.waitForText('new chat: 2 bob');
  alice.vt.type(Keys.alt('a'));
  const opened = await alice.vt.waitForText('Message to bob');
  assert.match(opened, /2 bob · relay/);
  assert.match(
    opened.replace(/[│\s]+/g, ' '),
    /Chat with bob \(127\.0\.0\.1\), relayed via the server, end-to-end encrypted/,
  );
  alice.vt.type('/info\r');
  await alice.vt.waitForText(/bob at 127\.0\.0\.1: relayed via the server/);
  await server.restart();
  const ended = (await alice.vt.waitForText('The chat with bob ended')).replace(/[│\s]+/g, ' ');
  assert.match(ended, /the server relaying it went away; once the server is back, \/connect bob starts a new chat/);
  await alice.vt.waitForText('The server is back: /connect bob starts a new chat with bob.', 30_000);
});
