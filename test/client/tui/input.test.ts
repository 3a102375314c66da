/**
 * Safe typing in the real app on a virtual terminal, with headless peers on the far side
 * (issue 13's reproduced defects): a chat request never takes typed keys, a draft stays with
 * its tab, readline keys edit the line, a paste is one message, '?' and a mistyped command,
 * grapheme-aware Backspace, Tab completion.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { PeerLink } from '../../../src/client/peer/link.ts';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, tempDir, type TestServer } from '../../helpers/server.ts';
import { Keys } from '../../helpers/terminal.ts';
import { defer } from '../../helpers/cleanup.ts';
import { waitFor } from '../../helpers/wait.ts';
import { registeredTui, type RegisteredTui } from '../../helpers/tui.ts';
import { headless, type Headless } from '../../helpers/tui-chat.ts';

const ALT_Y = Keys.alt('y');
const ALT_A = Keys.alt('a');

interface Bed {
  server: TestServer;
  tui: RegisteredTui;
  peers: Headless[];
}

/** A server, the TUI user `user`, and headless `others`; all stopped after the test. */
async function bed(t: TestContext, user: string, others: string[]): Promise<Bed> {
  const server = await startTestServer();
  const tui = await registeredTui(server, user);
  const peers: Headless[] = [];
  for (const other of others) peers.push(await headless(server, other));
  defer(t, async () => {
    for (const p of peers) {
      p.inbox.close();
      await p.peers.close();
    }
    await tui.close();
    await server.close();
  });
  return { server, tui, peers };
}

/** Texts a link receives, in order. */
function received(link: PeerLink): string[] {
  const texts: string[] = [];
  link.on('message', (m) => texts.push(m.text));
  return texts;
}

/** `from` asks the TUI user, who accepts with Alt-Y and goes to the chat with Alt-A. */
async function chatFrom(tui: RegisteredTui, from: Headless, tuiUser: string, fromUser: string): Promise<PeerLink> {
  const asked = from.peers.requestPeer({ user: tuiUser });
  await tui.vt.waitForText('wants to chat with you');
  tui.vt.type(ALT_Y);
  const result = await asked;
  if (result.outcome !== 'accepted') throw new Error(`not accepted: ${result.outcome}`);
  await tui.vt.waitForText(`new chat: 2 ${fromUser}`);
  tui.vt.type(ALT_A);
  await tui.vt.waitForText(`Message to ${fromUser}`);
  return result.link;
}

/** The input line's text rows (what follows the prompt), trailing spaces and border cut. */
function inputText(tui: RegisteredTui): string {
  const rows = tui.vt.lines();
  const first = rows.findIndex((r) => r.startsWith('│> '));
  if (first < 0) return '';
  const out: string[] = [];
  for (let y = first; y < rows.length && rows[y]?.startsWith('│'); y++) {
    out.push((rows[y] ?? '').slice(3).replace(/│\s*$/, '').trimEnd());
  }
  return out.join('\n');
}

const inputIs = (tui: RegisteredTui, want: string) =>
  waitFor(() => inputText(tui) === want, {
    what: `input line ${JSON.stringify(want)}; it shows ${JSON.stringify(inputText(tui))}`,
  });

test('a chat request never takes typed keys: it rings, waits for Alt-Y, and the chat opens in the background', async (t) => {
  const { tui: bob, peers } = await bed(t, 'bob', ['alice']);
  const [alice] = peers as [Headless];
  bob.vt.type('any');
  await inputIs(bob, 'any');
  const bells = bob.bells();
  const asked = alice.peers.requestPeer({ user: 'bob' });
  await bob.vt.waitForText('alice (127.0.0.1) wants to chat with you');
  // Before: "a" was swallowed, "n" declined the request and "ything" landed in the line.
  bob.vt.type('thing');
  await inputIs(bob, 'anything');
  await waitFor(() => bob.bells() > bells, { what: 'the bell for the request' });
  await bob.vt.waitForText('Alt-Y accept');
  bob.vt.type(ALT_Y);
  const result = await asked;
  assert.equal(result.outcome, 'accepted');
  // The tab in use stays; the new one is marked and announced.
  await bob.vt.waitForText('new chat: 2 alice (Alt-A)');
  await bob.vt.waitForText('2 alice · direct new');
  assert.match(bob.vt.text(), /Broadcasts: \/broadcast <text> sends to everyone/);
  await inputIs(bob, 'anything');
  bob.vt.type(ALT_A);
  await bob.vt.waitForText('Message to alice');
  await inputIs(bob, '');
  await bob.vt.waitForGone('new chat: 2 alice');
  bob.vt.type(Keys.alt('1'));
  await inputIs(bob, 'anything');
});

test('/accept and /decline name whose request; with none waiting they say so', async (t) => {
  const { tui: bob, peers } = await bed(t, 'bob', ['alice', 'carol']);
  const [alice, carol] = peers as [Headless, Headless];
  const fromAlice = alice.peers.requestPeer({ user: 'bob' });
  await bob.vt.waitForText('alice (127.0.0.1) wants to chat with you');
  const fromCarol = carol.peers.requestPeer({ user: 'bob' });
  await bob.vt.waitForText('1 more waiting');
  bob.vt.type('/decline carol\r');
  assert.equal((await fromCarol).outcome, 'declined');
  bob.vt.type('/accept\r');
  assert.equal((await fromAlice).outcome, 'accepted');
  await bob.vt.waitForText('new chat: 2 alice');
  bob.vt.type('/accept\r');
  await bob.vt.waitForText('There is no chat request waiting for an answer.');
});

test('a draft stays with its tab: a chat opening elsewhere neither moves it nor sends it there', async (t) => {
  const { tui: alice, peers } = await bed(t, 'alice', ['bob', 'carol']);
  const [bob, carol] = peers as [Headless, Headless];
  // alice asks bob first; bob answers only later.
  const bobPrompt = new Promise<string>((resolve) => bob.peers.once('prompt', (p) => resolve(p.reqId)));
  alice.vt.type('/connect bob\r');
  const bobReq = await bobPrompt;
  const carolLink = new Promise<PeerLink>((resolve) =>
    carol.peers.once('prompt', (p) => void carol.peers.accept(p.reqId).then(resolve)),
  );
  alice.vt.type('/connect carol\r');
  const toCarol = received(await carolLink);
  await alice.vt.waitForText('new chat: 2 carol');
  alice.vt.type(ALT_A);
  await alice.vt.waitForText('Message to carol');
  alice.vt.type('carol: the password is hunter2');
  await inputIs(alice, 'carol: the password is hunter2');
  const toBob = received(await bob.peers.accept(bobReq));
  await alice.vt.waitForText('new chat: 3 bob');
  // Still carol's tab and carol's draft: Enter sends it to carol.
  assert.match(alice.vt.text(), /Message to carol/);
  await inputIs(alice, 'carol: the password is hunter2');
  alice.vt.type('\r');
  await waitFor(() => toCarol.length === 1, { what: 'carol to get the message' });
  assert.deepEqual(toCarol, ['carol: the password is hunter2']);
  alice.vt.type('for bob, unsent');
  alice.vt.type(Keys.alt('3'));
  await alice.vt.waitForText('Message to bob');
  await inputIs(alice, '');
  alice.vt.type(Keys.alt('2'));
  await inputIs(alice, 'for bob, unsent');
  assert.deepEqual(toBob, [], 'bob got nothing');
});

test('readline keys edit the line; Ctrl-W deletes a word and the chat stays; F8 asks before closing', async (t) => {
  const { tui: alice, peers } = await bed(t, 'alice', ['carol']);
  const [carol] = peers as [Headless];
  const link = await chatFrom(alice, carol, 'alice', 'carol');
  const got = received(link);
  // Before: Ctrl-W ended the chat at once and Ctrl-B replaced the draft with "/broadcast ".
  alice.vt.type('hello wrold');
  alice.vt.type(Keys.CTRL_W);
  await inputIs(alice, 'hello');
  assert.match(alice.vt.text(), /Message to carol/);
  alice.vt.type('world');
  alice.vt.type(Keys.CTRL_B + Keys.CTRL_B + 'X');
  await inputIs(alice, 'hello worXld');
  alice.vt.type('\x08' + Keys.alt('b') + '\x0b'); // Backspace, Alt-B, Ctrl-K: "hello "
  await inputIs(alice, 'hello');
  alice.vt.type('\x01' + Keys.alt('d') + '\x19'); // Ctrl-A, Alt-D, Ctrl-Y: the word comes back
  await inputIs(alice, 'hello');
  alice.vt.type('\x05teh' + '\x14\r'); // Ctrl-E, "teh", Ctrl-T, Enter
  await waitFor(() => got.length === 1, { what: 'the message' });
  assert.deepEqual(got, ['hello the']);
  alice.vt.type('one two' + Keys.alt('\x7f') + '\x15'); // Alt-Backspace, Ctrl-U
  await inputIs(alice, '');
  alice.vt.type('\x19'); // Ctrl-Y: "one " killed by Ctrl-U after Alt-Backspace killed "two"
  await inputIs(alice, 'one two');
  alice.vt.type(Keys.F8);
  await alice.vt.waitForText('Close the tab of carol?');
  alice.vt.type('n');
  await alice.vt.waitForGone('Close the tab of carol?');
  assert.equal(link.isOpen, true);
  const closed = new Promise((resolve) => link.once('close', resolve));
  alice.vt.type(Keys.F8);
  await alice.vt.waitForText('Close the tab of carol?');
  alice.vt.type('y');
  await closed;
  await alice.vt.waitForText('Broadcasts: /broadcast');
});

test('a paste is one message, its blank line kept; more than 5 lines asks first; Alt-Enter adds a line', async (t) => {
  const { tui: alice, peers } = await bed(t, 'alice', ['bob']);
  const [bob] = peers as [Headless];
  const link = await chatFrom(alice, bob, 'alice', 'bob');
  const got = received(link);
  // Before: the paste went out as three messages, the blank line dropped, the last line left in the input.
  alice.vt.type(Keys.paste('line 1\r\rline 3\rline 4\rline 5\r'));
  await inputIs(alice, 'line 1\n\nline 3\nline 4\nline 5');
  await alice.vt.waitForText('5 lines, Enter sends all');
  assert.deepEqual(got, [], 'nothing sent by the paste itself');
  alice.vt.type('\r');
  await waitFor(() => got.length === 1, { what: 'one message' });
  assert.deepEqual(got, ['line 1\n\nline 3\nline 4\nline 5']);
  // Shown as one message: the name once, the lines below it.
  const text = await alice.vt.waitForText(/alice: line 1/);
  assert.equal(text.match(/alice:/g)?.length, 1);
  assert.match(text, /│line 3\s/);
  await inputIs(alice, '');
  const seven = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  alice.vt.type(Keys.paste(seven.join('\n')));
  alice.vt.type('\r');
  await alice.vt.waitForText('Send it to bob as one message?');
  alice.vt.type('n');
  await alice.vt.waitForGone('Send it to bob as one message?');
  assert.equal(got.length, 1, 'not sent after n');
  alice.vt.type('\r');
  await alice.vt.waitForText('The message has 7 lines.');
  alice.vt.type('y');
  await waitFor(() => got.length === 2, { what: 'the 7-line message' });
  assert.equal(got[1], seven.join('\n'));
  alice.vt.type('first' + Keys.ALT_ENTER + 'second');
  await inputIs(alice, 'first\nsecond');
  alice.vt.type('\r');
  await waitFor(() => got.length === 3, { what: 'the two-line message' });
  assert.equal(got[2], 'first\nsecond');
});

test('"?" as the first character is sent; a mistyped command leaves the line; Backspace takes a whole emoji', async (t) => {
  const { tui: alice, peers } = await bed(t, 'alice', ['bob']);
  const [bob] = peers as [Headless];
  const link = await chatFrom(alice, bob, 'alice', 'bob');
  const got = received(link);
  alice.vt.type('?');
  await inputIs(alice, '?');
  assert.doesNotMatch(alice.vt.text(), /Help: keys and commands/);
  alice.vt.type('\r');
  await waitFor(() => got.length === 1, { what: '"?" sent' });
  alice.vt.type('/foo\r');
  await alice.vt.waitForText('Unknown command /foo.');
  await inputIs(alice, '');
  alice.vt.type('/info\r');
  await alice.vt.waitForText(/bob at 127\.0\.0\.1: direct/);
  // Thumbs up with a skin tone, then Backspace: both go (before, the bare thumb stayed).
  alice.vt.type('ok 👍🏽');
  await inputIs(alice, 'ok 👍🏽');
  alice.vt.type('\x7f\r');
  await waitFor(() => got.length === 2, { what: 'the second message' });
  assert.deepEqual(got, ['?', 'ok ']);
});

test('Tab completes /commands and usernames, Tab again cycles, Shift-Tab goes back; F6 moves the focus', async (t) => {
  const { tui: alice } = await bed(t, 'alice', ['bob', 'bea']);
  await alice.vt.waitForText(/bea\s+127\.0\.0\.1/);
  alice.vt.type('/bro' + Keys.TAB);
  await inputIs(alice, '/broadcast');
  alice.vt.type('hi b' + Keys.TAB);
  const first = await waitFor(() => /^\/broadcast hi (bob|bea)$/.exec(inputText(alice))?.[1], { what: 'a name' });
  const second = first === 'bob' ? 'bea' : 'bob';
  alice.vt.type(Keys.TAB);
  await inputIs(alice, `/broadcast hi ${second}`);
  alice.vt.type(Keys.SHIFT_TAB);
  await inputIs(alice, `/broadcast hi ${first}`);
  alice.vt.type('\x15b' + Keys.TAB);
  await inputIs(alice, `${first}:`);
  // F6 goes to the user list (Tab no longer does); typing comes back to the input.
  alice.vt.type('\x15' + Keys.F6);
  await waitFor(() => alice.app.main && alice.vt.text().includes('Users (3)'), { what: 'the list' });
  alice.vt.type('x');
  await inputIs(alice, 'x');
});

test('Tab after /send completes the path from the disk: to where names agree, then the one file', async (t) => {
  const { tui: alice } = await bed(t, 'alice', []);
  const dir = await tempDir('send-complete');
  defer(t, dir.remove);
  await mkdir(join(dir.path, 'photos'));
  await writeFile(join(dir.path, 'photos', 'holiday-2026.jpg'), 'x');
  await writeFile(join(dir.path, 'photos', 'holiday-2025.jpg'), 'x');
  alice.vt.type(`/send ${dir.path}/ph` + Keys.TAB);
  await inputIs(alice, `/send ${dir.path}/photos/`);
  alice.vt.type('ho');
  await inputIs(alice, `/send ${dir.path}/photos/ho`);
  alice.vt.type(Keys.TAB);
  await inputIs(alice, `/send ${dir.path}/photos/holiday-202`);
  // Nothing more in common: Tab again lists them, as a shell does.
  alice.vt.type(Keys.TAB);
  await alice.vt.waitForText('2 matches: holiday-2025.jpg  holiday-2026.jpg');
  alice.vt.type('6');
  await inputIs(alice, `/send ${dir.path}/photos/holiday-2026`);
  alice.vt.type(Keys.TAB);
  await inputIs(alice, `/send ${dir.path}/photos/holiday-2026.jpg`);
});
