/**
 * Reading in the TUI (issue 13, defects reproduced in tmux on the old code): the app
 * in-process against a real server, headless peers on the far side. The chat title fits at
 * 80x24; sending, End and Home move the view; the sender's own broadcast is not news to her;
 * a lost session is told where the user is looking; the broadcast lifetime is exact. (The
 * register form forgetting an old error is in app.test.ts, with the rest of the form.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Keys } from '../../helpers/terminal.ts';
import { acceptedChat, aliceAndBob } from '../../helpers/tui-chat.ts';

test('at 80x24 the chat title stays on its border while the peer types and after the chat ended', async (t) => {
  const { alice, bob } = await aliceAndBob(t, { columns: 80, rows: 24 });
  const link = await acceptedChat(alice, bob, 'alice', 'bob');
  const titleRow = () => alice.vt.line(1);
  link.setTyping(true);
  await alice.vt.waitForText('typing…');
  assert.match(titleRow(), /typing… ?─*┐$/, titleRow());
  assert.doesNotMatch(alice.vt.line(2), /typing|code/, alice.vt.line(2));
  link.close();
  await alice.vt.waitForText('· ended');
  assert.match(titleRow(), /· ended ?─*┐$/, titleRow());
  assert.doesNotMatch(alice.vt.line(2), /ended ─|code/, alice.vt.line(2));
});

test('sending while scrolled up jumps to the newest line; End and Home go to the bottom and the top', async (t) => {
  const { alice, bob } = await aliceAndBob(t);
  const link = await acceptedChat(alice, bob, 'alice', 'bob');
  for (let i = 0; i < 60; i++) link.send(`line ${i}`);
  await alice.vt.waitForText('bob: line 59');
  alice.vt.type(Keys.PAGE_UP);
  await alice.vt.waitForText('newer below');
  alice.vt.type('my answer\r');
  await alice.vt.waitForText('alice: my answer');
  await alice.vt.waitForGone('newer below');
  alice.vt.type(Keys.HOME);
  await alice.vt.waitForText(/bob: line 0 /);
  await alice.vt.waitForText('newer below');
  alice.vt.type(Keys.END);
  await alice.vt.waitForGone('newer below');
  await alice.vt.waitForText('alice: my answer');
});

test("the sender's own broadcast does not mark her Broadcasts tab unread; a lost session is told in the current tab and the status line", async (t) => {
  const { server, alice, bob } = await aliceAndBob(t, { server: { broadcastTtlMs: 45_000 } });
  await acceptedChat(alice, bob, 'alice', 'bob');
  const gotOwn = new Promise<void>((resolve) => bob.inbox.once('broadcast', () => resolve()));
  alice.vt.type('/broadcast from alice\r');
  // The lifetime as configured, not rounded to a minute.
  await alice.vt.waitForText('whoever logs in within 45 s gets it then');
  await gotOwn;
  await bob.inbox.send('from bob');
  // Only bob's counts: one unread, not two.
  await alice.vt.waitForText('1 Broadcasts (1)');
  // alice logs in elsewhere: the chat tab she is looking at says why, so does the status line.
  const other = await server.client();
  await other.login('alice', 'alice password');
  const text = await alice.vt.waitForText('Disconnected from the server: You logged in somewhere');
  assert.match(text, /Message to bob/);
  await alice.vt.waitForText(/│ logged in elsewhere/);
});
