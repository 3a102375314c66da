/**
 * The app in-process with the real feature modules (PeerManager, BroadcastInbox), against a
 * real server, with headless peers on the far side: decline, the IP picker, unread marks and
 * the bell, over-long messages, quitting with a chat open, chats that outlive the server.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerLink } from '../../../src/client/peer/link.ts';
import { startTestServer } from '../../helpers/server.ts';
import { Keys } from '../../helpers/terminal.ts';
import { defer } from '../../helpers/cleanup.ts';
import { registeredTui } from '../../helpers/tui.ts';
import { acceptedChat, aliceAndBob, headless } from '../../helpers/tui-chat.ts';

test('decline with Alt-N; /decline declines too; the requester is told', async (t) => {
  const server = await startTestServer();
  const alice = await registeredTui(server, 'alice');
  const bob = await headless(server, 'bob');
  defer(t, async () => {
    await bob.peers.close();
    await alice.close();
    await server.close();
  });
  const first = bob.peers.requestPeer({ user: 'alice' });
  await alice.vt.waitForText('bob (127.0.0.1) wants to chat with you');
  alice.vt.type(Keys.alt('n'));
  assert.equal((await first).outcome, 'declined');
  await alice.vt.waitForText('Declined the chat request from bob');
  const second = bob.peers.requestPeer({ user: 'alice' });
  await alice.vt.waitForText('wants to chat with you');
  alice.vt.type('/decline bob\r');
  assert.equal((await second).outcome, 'declined');
  await alice.vt.waitForGone('Chat request');
});

test('an IP shared by several users asks which one; the request goes to the one picked', async (t) => {
  const server = await startTestServer();
  const alice = await registeredTui(server, 'alice');
  const bob = await headless(server, 'bob');
  const carol = await headless(server, 'carol');
  defer(t, async () => {
    await bob.peers.close();
    await carol.peers.close();
    await alice.close();
    await server.close();
  });
  const prompted = new Promise<string>((resolve) => carol.peers.once('prompt', (p) => resolve(p.from.user)));
  alice.vt.type('/connect 127.0.0.1\r');
  await alice.vt.waitForText('Several users are online at 127.0.0.1');
  alice.vt.type(Keys.DOWN);
  alice.vt.type('\r');
  assert.equal(await prompted, 'alice');
  await alice.vt.waitForText('Asked carol (127.0.0.1) for a chat');
  await alice.vt.waitForText(/\?\s+carol/);
});

test('unread marks and one bell for a tab in the background; over-long messages refused; quit asks first', async (t) => {
  const server = await startTestServer();
  const alice = await registeredTui(server, 'alice');
  const bob = await headless(server, 'bob');
  defer(t, async () => {
    await bob.peers.close();
    await alice.close();
    await server.close();
  });
  const link = await acceptedChat(alice, bob, 'alice', 'bob');
  // Back to the Broadcasts tab; bob writes twice: one mark, one bell.
  alice.vt.type(Keys.alt('1'));
  await alice.vt.waitForText(/Broadcasts: \/broadcast/);
  const bellsBefore = alice.bells();
  link.send('one');
  link.send('two');
  await alice.vt.waitForText('2 bob · direct (2)');
  await alice.vt.waitForText(/● {2}2 bob/);
  assert.equal(alice.bells() - bellsBefore, 1);
  alice.vt.type(Keys.CTRL_N);
  await alice.vt.waitForText('bob: two');
  // Peer text cannot drive the terminal or inject markup: stripped on receipt, tags escaped when drawn.
  link.send('\x1b[2J\x1b]0;owned\x07{red-fg}red?{/red-fg} \x1b[31mplain');
  assert.doesNotMatch(await alice.vt.waitForText(/bob: \{red-fg\}red\?\{\/red-fg\} plain/), /owned/);
  await alice.vt.waitForGone('2 bob · direct (2)');
  // Over the chat limit: refused with the numbers, kept in the input.
  alice.vt.type('x'.repeat(16_385) + '\r');
  await alice.vt.waitForText('Not sent: the message is 16385 bytes');
  alice.vt.type('\x15');
  // Quit with a chat open asks first; n stays.
  alice.vt.type(Keys.CTRL_C);
  await alice.vt.waitForText('1 direct chat is open');
  alice.vt.type('n');
  await alice.vt.waitForGone('1 direct chat is open');
  const closed = new Promise((resolve) => link.once('close', resolve));
  alice.vt.type(Keys.F10);
  await alice.vt.waitForText('Quit p2p-client?');
  alice.vt.type('y');
  await alice.app.done;
  await closed;
});

test('a chat carries on while the server is down; the status bar shows it', async (t) => {
  const server = await startTestServer();
  const alice = await registeredTui(server, 'alice');
  const bob = await headless(server, 'bob');
  defer(t, async () => {
    await bob.peers.close();
    await alice.close();
    await server.close();
  });
  const link = await acceptedChat(alice, bob, 'alice', 'bob');
  await server.stopServer();
  await alice.vt.waitForText(/TCP (reconnecting|down)/);
  link.send('still here?');
  await alice.vt.waitForText('bob: still here?');
  alice.vt.type('yes\r');
  await alice.vt.waitForText(/alice: yes {2}✓✓ delivered/);
});

test('as requester: a decline is reported; an accept opens the tab; typing shows in the title', async (t) => {
  const server = await startTestServer();
  const alice = await registeredTui(server, 'alice');
  const bob = await headless(server, 'bob');
  defer(t, async () => {
    await bob.peers.close();
    await alice.close();
    await server.close();
  });
  bob.peers.once('prompt', (p) => void bob.peers.decline(p.reqId));
  alice.vt.type('/connect bob\r');
  await alice.vt.waitForText('No chat with bob (127.0.0.1): they declined.');
  const linked = new Promise<PeerLink>((resolve) =>
    bob.peers.once('prompt', (p) => void bob.peers.accept(p.reqId).then(resolve)),
  );
  alice.vt.type('/connect bob\r');
  const link = await linked;
  await alice.vt.waitForText('new chat: 2 bob');
  alice.vt.type(Keys.alt('a'));
  await alice.vt.waitForText('Message to bob');
  link.setTyping(true);
  await alice.vt.waitForText('typing…');
  link.send('done typing');
  await alice.vt.waitForText('bob: done typing');
  await alice.vt.waitForGone('typing…');
});

test('broadcasts: sent from the TUI, received by a headless user; received ones land in the inbox', async (t) => {
  const { alice, bob } = await aliceAndBob(t);
  const got = new Promise<string>((resolve) => bob.inbox.once('broadcast', (b) => resolve(b.text)));
  alice.vt.type('/broadcast hello everyone\r');
  assert.equal(await got, 'hello everyone');
  await alice.vt.waitForText('alice: hello everyone');
  await bob.inbox.send('\x1b[2Jhi {bold}all{/bold}');
  await alice.vt.waitForText('bob: hi {bold}all{/bold}');
  alice.vt.type('/broadcast ' + 'y'.repeat(4097) + '\r');
  await alice.vt.waitForText('Not sent: the broadcast is 4097 bytes');
});
