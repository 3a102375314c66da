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
import { waitFor } from '../../helpers/wait.ts';
import { nickColor, type NickColor } from '../../../src/client/tui/nick-colors.ts';

/** The palette as xterm numbers it (what the terminal reads back). */
const PALETTE_INDEX: Record<NickColor, number> = {
  red: 1,
  green: 2,
  yellow: 3,
  magenta: 5,
  cyan: 6,
  'light-red': 9,
  'light-green': 10,
  'light-yellow': 11,
  'light-magenta': 13,
  'light-cyan': 14,
};

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
  const bellsBefore = alice.bells();
  alice.vt.type('/broadcast from alice\r');
  // The lifetime as configured, not rounded to a minute.
  await alice.vt.waitForText('whoever logs in within 45 s gets it then');
  // Her own copy comes back like everyone's (the data first, then what the screen says of it).
  const inbox = () => alice.app.main?.tabs.inbox;
  const inboxHas = (text: string) =>
    waitFor(
      () =>
        inbox()
          ?.lines.slice(0, Infinity)
          .some((l) => l.text === text),
      { what: `inbox has "${text}"` },
    );
  await inboxHas('from alice');
  assert.equal(inbox()?.unread, 0, 'her own broadcast is not unread');
  assert.match(alice.vt.text(), /1 Broadcasts │ 2 bob/);
  await bob.inbox.send('from bob');
  await inboxHas('from bob');
  await alice.vt.waitForText('1 Broadcasts (1)');
  assert.equal(alice.bells(), bellsBefore + 1, 'one bell, for bob');
  // alice logs in elsewhere: the chat tab she is looking at says why, so does the status line.
  const other = await server.client();
  await other.login('alice', 'alice password');
  const text = await alice.vt.waitForText('Disconnected from the server: You logged in somewhere');
  assert.match(text, /Message to bob/);
  await alice.vt.waitForText(/│ logged in elsewhere/);
});

test('Ctrl-R searches the current tab: matches highlighted, a count, older and newer, Esc back to the newest', async (t) => {
  const { alice, bob } = await aliceAndBob(t);
  const link = await acceptedChat(alice, bob, 'alice', 'bob');
  link.send('an apple a day');
  for (let i = 0; i < 40; i++) link.send(i === 20 ? 'apple pie' : `filler ${i}`);
  link.send('last APPLE');
  await alice.vt.waitForText('bob: last APPLE');
  await alice.vt.waitForGone('bob: an apple a day');
  alice.vt.type(Keys.CTRL_R);
  await alice.vt.waitForText('Search: type to search');
  alice.vt.type('apple');
  // Ignoring case, newest first: "last APPLE" is 1 of 3.
  await alice.vt.waitForText('Search: 1/3');
  const newest = alice.vt.find('APPLE');
  assert.ok(newest, 'the newest match on screen');
  assert.equal(alice.vt.bgColor(newest.x, newest.y), 3, 'the match is on yellow');
  assert.notEqual(alice.vt.bgColor(newest.x - 2, newest.y), 3, 'the text around it is not');
  alice.vt.type(Keys.CTRL_R);
  await alice.vt.waitForText('Search: 2/3');
  alice.vt.type(Keys.CTRL_R);
  await alice.vt.waitForText('Search: 3/3');
  await alice.vt.waitForText('bob: an apple a day');
  // At the oldest it stays there; Ctrl-S goes back towards the newest.
  alice.vt.type(Keys.CTRL_R);
  await alice.vt.waitForText('Search: 3/3');
  alice.vt.type(Keys.CTRL_S);
  await alice.vt.waitForText('Search: 2/3');
  alice.vt.type('x');
  await alice.vt.waitForText('Search: no match');
  alice.vt.type(Keys.ESC);
  await alice.vt.waitForText('Message to bob');
  await alice.vt.waitForText('bob: last APPLE');
  assert.doesNotMatch(alice.vt.text(), /newer below/);
  // /search opens it with the text given; Enter stays at the match.
  alice.vt.type('/search apple pie\r');
  await alice.vt.waitForText('Search: 1/1');
  alice.vt.type('\r');
  await alice.vt.waitForText('Message to bob');
  await alice.vt.waitForText('bob: apple pie');
  await alice.vt.waitForText('newer below');
});

test('an unread marker line shows where the user left a tab', async (t) => {
  const { alice, bob } = await aliceAndBob(t);
  const link = await acceptedChat(alice, bob, 'alice', 'bob');
  link.send('before you left');
  await alice.vt.waitForText('bob: before you left');
  assert.doesNotMatch(alice.vt.text(), /new since you left/);
  alice.vt.type(Keys.alt('1'));
  await alice.vt.waitForText(/Broadcasts: \/broadcast/);
  link.send('while you were away');
  await alice.vt.waitForText('2 bob · direct (1)');
  alice.vt.type(Keys.alt('2'));
  const text = await alice.vt.waitForText('new since you left');
  assert.match(text, /bob: before you left[^\n]*\n[^\n]*new since you left[^\n]*\n[^\n]*bob: while you were away/);
  // Left again with nothing new: no marker on the way back.
  alice.vt.type(Keys.alt('1'));
  await alice.vt.waitForText(/Broadcasts: \/broadcast/);
  alice.vt.type(Keys.alt('2'));
  await alice.vt.waitForText('Message to bob');
  await alice.vt.waitForGone('new since you left');
});

test('nick colours: each name in its own stable colour, never blue; your own name in bold white', async (t) => {
  const { alice, bob } = await aliceAndBob(t);
  const link = await acceptedChat(alice, bob, 'alice', 'bob');
  link.send('hello alice');
  await alice.vt.waitForText('bob: hello alice');
  alice.vt.type('hi bob\r');
  await alice.vt.waitForText('alice: hi bob');
  const bobAt = alice.vt.find('bob: hello');
  const aliceAt = alice.vt.find('alice: hi bob');
  assert.ok(bobAt && aliceAt);
  assert.equal(alice.vt.fgColor(bobAt.x, bobAt.y), PALETTE_INDEX[nickColor('bob')]);
  assert.equal(alice.vt.fgColor(aliceAt.x, aliceAt.y), 7, 'own name in white');
});

test('at 60x20 the main screen is usable: the user list folds away, F2 shows it, titles fit', async (t) => {
  const { alice, bob } = await aliceAndBob(t, { columns: 60, rows: 20 });
  await alice.vt.waitForText('F2 users');
  assert.doesNotMatch(alice.vt.text(), /Users \(/);
  const link = await acceptedChat(alice, bob, 'alice', 'bob');
  link.setTyping(true);
  await alice.vt.waitForText('typing…');
  assert.match(alice.vt.line(1), /^┌─ .*typing… ?─*┐$/, alice.vt.line(1));
  link.send('hello from bob');
  await alice.vt.waitForText('bob: hello from bob');
  alice.vt.type('hi\r');
  await alice.vt.waitForText('alice: hi');
  alice.vt.type(Keys.F2);
  await alice.vt.waitForText('Users (2)');
  await alice.vt.waitForText(/● +bob/);
  alice.vt.type(Keys.F2);
  await alice.vt.waitForGone('Users (2)');
  // Every row stays within the 60 columns with its border: nothing spills.
  for (let y = 1; y < 15; y++) assert.match(alice.vt.line(y), /[│┐┘]$/, `row ${y}: ${alice.vt.line(y)}`);
});

test('/away and /back: shown in the others’ lists and in the status line; a chat tab says when the peer goes away', async (t) => {
  const { alice, bob } = await aliceAndBob(t);
  await acceptedChat(alice, bob, 'alice', 'bob');
  await bob.client.setAway('lunch');
  await alice.vt.waitForText('bob is away: lunch.');
  await alice.vt.waitForText('Users (2, 1 away)');
  await alice.vt.waitForText(/● +bob/); // the chat mark comes first; the row is dimmed
  alice.vt.type('/info\r');
  await alice.vt.waitForText(/bob is away: lunch\.\s/);
  alice.vt.type('/away coffee\r');
  await alice.vt.waitForText(/alice @ 127\.0\.0\.1:\d+ │ away │/);
  await waitFor(() => bob.client.onlineUsers.find((u) => u.user === 'alice')?.away === 'coffee', {
    what: 'bob sees alice away',
  });
  await bob.client.setAway(null);
  await alice.vt.waitForText('bob is back.');
  alice.vt.type('/back\r');
  await alice.vt.waitForGone(/│ away │/);
  await waitFor(() => bob.client.onlineUsers.find((u) => u.user === 'alice')?.away === undefined, {
    what: 'bob sees alice back',
  });
});
