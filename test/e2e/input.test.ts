/**
 * The real bin/p2p-client in a pseudo-terminal: the terminal's bracketed paste mode is on
 * while the client runs and off after it quits; a paste read from the real TTY (before blessed)
 * is one message of several lines; a request arriving while the user types takes no keys.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerManager } from '../../src/client/peer/manager.ts';
import { ClientProcess } from '../helpers/pty.ts';
import { startTestServer } from '../helpers/server.ts';
import { Keys, trustAndRegister } from '../helpers/terminal.ts';
import { defer } from '../helpers/cleanup.ts';
import { waitFor } from '../helpers/wait.ts';

const START_MS = 30_000;

test('e2e: bracketed paste on while running and off after; a paste is one message; a request takes no keys', async (t) => {
  const server = await startTestServer();
  const mallory = await server.client();
  const peers = new PeerManager(mallory);
  const alice = await ClientProcess.spawn(['127.0.0.1', String(server.port)]);
  defer(t, async () => {
    await alice.kill();
    await peers.close();
    await server.close();
  });
  await peers.start();
  await mallory.register('mallory', 'mallory password');
  await trustAndRegister(alice, 'alice', 'alice password', START_MS);
  assert.equal(alice.term.modes.bracketedPasteMode, true, 'mode 2004 on');
  alice.type('draft');
  await alice.waitForText('> draft');
  const asked = peers.requestPeer({ user: 'alice' });
  await alice.waitForText('mallory (127.0.0.1) wants to chat with you');
  alice.type(' kept');
  await alice.waitForText('> draft kept');
  alice.type(Keys.alt('y'));
  const result = await asked;
  assert.equal(result.outcome, 'accepted');
  if (result.outcome !== 'accepted') return;
  const got: string[] = [];
  result.link.on('message', (m) => got.push(m.text));
  await alice.waitForText('new chat: 2 mallory');
  alice.type(Keys.alt('a'));
  await alice.waitForText('Message to mallory');
  alice.type(Keys.paste('first\r\rthird\r'));
  await alice.waitForText('3 lines, Enter sends all');
  alice.type('\r');
  await waitFor(() => got.length === 1, { what: 'the message' });
  assert.deepEqual(got, ['first\n\nthird']);
  alice.type(Keys.alt('1'));
  await alice.waitForText('> draft kept');
  alice.type(Keys.F10);
  await alice.waitForText('Quit p2p-client?');
  alice.type('y');
  assert.equal(await alice.waitForExit(), 0);
  await waitFor(() => !alice.term.modes.bracketedPasteMode, { what: 'mode 2004 off after quitting' });
});
