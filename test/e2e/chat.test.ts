/**
 * Peer chats and broadcasts end to end: real p2p-client processes in pseudo-terminals, a
 * real server on loopback. Request -> notice with countdown -> Alt-Y -> Alt-A to the new tab -> chat both ways with
 * delivery marks -> escape sequences from a peer shown harmlessly -> close; a broadcast seen
 * by a user online and by one who logs in later.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerManager } from '../../src/client/peer/manager.ts';
import { ClientProcess } from '../helpers/pty.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Keys, trustAndRegister } from '../helpers/terminal.ts';
import { defer } from '../helpers/cleanup.ts';

const START_MS = 30_000;

async function registered(server: TestServer, user: string, clients: ClientProcess[]): Promise<ClientProcess> {
  const c = await ClientProcess.spawn(['127.0.0.1', String(server.port)]);
  clients.push(c);
  await trustAndRegister(c, user, `${user} password`, START_MS);
  return c;
}

test('e2e: request, notice with countdown, accept, chat both ways, escape sequences harmless, close', async (t) => {
  const server = await startTestServer();
  const clients: ClientProcess[] = [];
  defer(t, async () => {
    for (const c of clients) await c.kill();
    await server.close();
  });
  const alice = await registered(server, 'alice', clients);
  const bob = await registered(server, 'bob', clients);
  await alice.waitForText(/bob\s+127\.0\.0\.1/);
  // Alice picks bob in the user list (F6 to the list, j to move, Enter to ask).
  alice.type(Keys.F6);
  await alice.waitForText(/Users \(2\)/);
  const aliceFirst = /alice\*/.test(alice.line(1));
  if (aliceFirst) alice.type('j');
  alice.type('\r');
  await alice.waitForText('Asked bob (127.0.0.1) for a chat');
  let text = await bob.waitForText('Chat request');
  assert.match(text, /alice \(127\.0\.0\.1\) wants to chat with you/);
  assert.match(text, /Answer within \d+ s/);
  bob.type(Keys.alt('y'));
  // Both chats open in the background, announced; Alt-A goes there.
  await bob.waitForText('new chat: 2 alice');
  bob.type(Keys.alt('a'));
  await bob.waitForText(/Message to alice/);
  await alice.waitForText('new chat: 2 bob');
  alice.type(Keys.alt('a'));
  text = await alice.waitForText(/Message to bob/);
  const code = /code ([\d ]+\d)/.exec(text)?.[1];
  assert.ok(code, 'verification code shown');
  text = await bob.waitForText(`code ${code}`);
  assert.match(text, /2 alice/);

  alice.type('hello bob 👋\r');
  await bob.waitForText('alice: hello bob 👋');
  await alice.waitForText(/alice: hello bob 👋 {2}✓✓ delivered/);
  bob.type('hi alice\r');
  await alice.waitForText('bob: hi alice');
  await bob.waitForText(/bob: hi alice {2}✓✓ delivered/);

  // Bob closes the chat; alice is told, and her tab stays until she closes it.
  bob.type('/close\r');
  await bob.waitForGone(/Message to alice/);
  await alice.waitForText('The chat with bob ended');
  alice.type(Keys.F8);
  await alice.waitForText('Close the tab of bob?');
  alice.type('y');
  await alice.waitForText(/Broadcasts: \/broadcast/);
});

test('e2e: a broadcast reaches a user online and one who logs in later', async (t) => {
  const server = await startTestServer();
  const clients: ClientProcess[] = [];
  defer(t, async () => {
    for (const c of clients) await c.kill();
    await server.close();
  });
  const alice = await registered(server, 'alice', clients);
  const bob = await registered(server, 'bob', clients);
  const carol = await registered(server, 'carol', clients);
  carol.type(Keys.F10);
  assert.equal(await carol.waitForExit(), 0);
  alice.type('/broadcast lunch is ready 🍕\r');
  await alice.waitForText('Broadcast sent');
  await bob.waitForText('alice: lunch is ready 🍕');
  await bob.waitForText(/1 Broadcasts/);

  const later = await ClientProcess.spawn(['127.0.0.1', String(server.port)], { configDir: carol.configDir });
  clients.push(later);
  await later.waitForText('[l] Login', START_MS);
  later.type('l');
  await later.waitForText('Password:');
  later.type('carol\rcarol password\r');
  await later.waitForText('alice: lunch is ready 🍕');
});

test('e2e: escape sequences and markup from a peer are shown as plain text', async (t) => {
  const server = await startTestServer();
  const clients: ClientProcess[] = [];
  // The far end is the headless client core with the real peer module: it can send any bytes.
  const mallory = await server.client();
  const peers = new PeerManager(mallory);
  defer(t, async () => {
    for (const c of clients) await c.kill();
    await peers.close();
    await server.close();
  });
  await peers.start();
  await mallory.register('mallory', 'mallory password');
  const alice = await registered(server, 'alice', clients);
  const asked = peers.requestPeer({ user: 'alice' });
  await alice.waitForText('mallory (127.0.0.1) wants to chat with you');
  alice.type(Keys.alt('y'));
  const result = await asked;
  assert.equal(result.outcome, 'accepted');
  if (result.outcome !== 'accepted') return;
  await alice.waitForText('new chat: 2 mallory');
  alice.type(Keys.alt('a'));
  await alice.waitForText(/Message to mallory/);
  alice.type('before\r');
  await alice.waitForText(/alice: before {2}✓✓ delivered/);
  result.link.send('A\x1b[2J\x1b[H\x1b]0;owned\x07{red-fg}B{/red-fg}\x1b[31mC\u202eD\x07');
  const text = await alice.waitForText('mallory: A{red-fg}B{/red-fg}CD');
  assert.ok(text.includes('alice: before'), 'the screen was not cleared');
  assert.doesNotMatch(text, /owned/);
  // No colour escaped from the message: the cells after it have the default foreground.
  const row = alice.lines().findIndex((l) => l.includes('mallory: A'));
  const cells = alice.term.buffer.active.getLine(row);
  const x = alice.line(row).indexOf('CD') + 2;
  assert.equal(cells?.getCell(x + 2)?.isFgDefault() ?? true, true);
});
