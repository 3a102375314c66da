/**
 * History in the TUI, in-process against a real server with a headless peer: one tab per
 * person (a chat that ended goes on in the same tab), and a restart that brings back chats,
 * the broadcast inbox and the input history from the encrypted store.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { HistoryStore } from '../../../src/client/history/store.ts';
import type { PeerLink } from '../../../src/client/peer/link.ts';
import { defer } from '../../helpers/cleanup.ts';
import { startPeerBed, type PeerClient } from '../../helpers/peers.ts';
import { tempDir } from '../../helpers/server.ts';
import { Keys } from '../../helpers/terminal.ts';
import { registeredTui, type RegisteredTui } from '../../helpers/tui.ts';
import { waitFor } from '../../helpers/wait.ts';

const HISTORY = { historyOptions: { logN: 10 } };
const HOUR_MS = 60 * 60 * 1000;

/**
 * The TUI user asks `peer` for a chat with /connect and the peer accepts; the chat opens in the
 * background and the user goes to its tab (the person's one tab: tab 2 here). The peer's end.
 */
async function chatFromTui(tui: RegisteredTui, peer: PeerClient, name: string): Promise<PeerLink> {
  const linked = new Promise<PeerLink>((resolve, reject) =>
    peer.peers.once('prompt', (p) => void peer.peers.accept(p.reqId).then(resolve, reject)),
  );
  tui.vt.type(`/connect ${name}\r`);
  const link = await linked;
  await waitFor(() => tui.app.main?.tabs.tabForUser(name) !== undefined, { what: `the chat tab of ${name}` });
  tui.vt.type(Keys.alt('2'));
  await tui.vt.waitForText(`Message to ${name}`);
  return link;
}

/** Tab titles in the tab bar (row 1 of the messages column), e.g. ["1 Broadcasts", "2 carol · direct ended"]. */
function tabTitles(tui: RegisteredTui): string {
  return tui.vt.lines().find((l) => l.includes('1 Broadcasts')) ?? '';
}

test('/connect to someone whose chat ended reuses their tab: earlier lines above a "new since" marker', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const carol = await bed.join('carol');
  const alice = await registeredTui(bed.server, 'alice');
  defer(t, () => alice.close());

  const first = await chatFromTui(alice, carol, 'carol');
  first.send('from the first chat');
  await alice.vt.waitForText('carol: from the first chat');
  first.close('bye');
  await alice.vt.waitForText('The chat with carol ended');

  const second = await chatFromTui(alice, carol, 'carol');
  second.send('from the second chat');
  // Wherever the client puts the focus, the person's one tab is tab 2.
  alice.vt.type(Keys.alt('2'));
  const screen = await alice.vt.waitForText('carol: from the second chat');
  assert.doesNotMatch(tabTitles(alice), /3 carol/, 'no second tab for the same person');
  assert.match(screen, /carol: from the first chat[\s\S]*new since \d\d:\d\d[\s\S]*carol: from the second chat/);
  assert.doesNotMatch(tabTitles(alice), /ended/);
});

test('after a restart: the chat with carol comes back on /connect, the inbox and Up-arrow history too', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const carol = await bed.join('carol');
  const config = await tempDir('tui-history-config');
  defer(t, config.remove);
  const data = await tempDir('tui-history-data');
  defer(t, data.remove);
  const options = { ...HISTORY, configDir: config.path, dataDir: data.path };

  const before = await registeredTui(bed.server, 'alice', options);
  const link = await chatFromTui(before, carol, 'carol');
  link.send('a secret from carol');
  await before.vt.waitForText('carol: a secret from carol');
  before.vt.type(Keys.alt('2'));
  before.vt.type('and one from alice\r');
  await before.vt.waitForText(/alice: and one from alice {2}✓✓ delivered/);
  const broadcastSeen = before.vt.waitForText('carol: to everyone, saved');
  await carol.client.request({ t: 'broadcast', text: 'to everyone, saved' });
  before.vt.type(Keys.alt('1'));
  await broadcastSeen;
  await before.close();

  // On disk: files, and not a byte of what was said.
  const dir = join(data.path, `127.0.0.1_${bed.server.port}`, 'alice');
  const names = await readdir(dir);
  assert.ok(
    names.some((n) => n.startsWith('chat-')),
    names.join(' '),
  );
  for (const name of names) {
    const bytes = await readFile(join(dir, name));
    for (const said of ['a secret from carol', 'and one from alice', 'to everyone, saved', 'carol'])
      assert.equal(bytes.indexOf(said), -1, `${name} holds "${said}"`);
  }

  const after = await registeredTui(bed.server, 'alice', { ...options, again: true });
  defer(t, () => after.close());
  // The inbox is back (once, though the server delivers the unexpired broadcast again at login).
  const inbox = await after.vt.waitForText('carol: to everyone, saved');
  assert.equal(inbox.split('to everyone, saved').length - 1, 1);
  // Up brings back what was typed last run.
  after.vt.type(Keys.UP);
  await after.vt.waitForText('> and one from alice');
  after.vt.type('\x15'); // Ctrl-U: clear the line
  await after.vt.waitForGone('> and one from alice');
  const again = await chatFromTui(after, carol, 'carol');
  after.vt.type(Keys.alt('2'));
  const screen = await after.vt.waitForText('carol: a secret from carol');
  assert.match(screen, /carol: a secret from carol[\s\S]*alice: and one from alice[\s\S]*new since/);
  again.send('hello again');
  await after.vt.waitForText(/new since[\s\S]*carol: hello again/);
});

test('a history that does not open with the password is moved aside, and the client carries on', async (t) => {
  const data = await tempDir('tui-history-data');
  defer(t, data.remove);
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const first = await registeredTui(bed.server, 'alice', { ...HISTORY, dataDir: data.path });
  await first.close();
  // The account is made again with another password (here: on a second server, given the first one's directory).
  const other = await startPeerBed();
  defer(t, () => other.close());
  await rename(join(data.path, `127.0.0.1_${bed.server.port}`), join(data.path, `127.0.0.1_${other.server.port}`));
  const alice = await registeredTui(other.server, 'alice', {
    ...HISTORY,
    dataDir: data.path,
    password: 'another password',
  });
  defer(t, () => alice.close());
  await alice.vt.waitForText('did not open with this password');
  const kept = await readdir(join(data.path, `127.0.0.1_${other.server.port}`));
  assert.ok(
    kept.some((n) => n.startsWith('alice.unreadable-')),
    kept.join(' '),
  );
  assert.ok(kept.includes('alice'), 'a new history started');
});

test('a long history opens with its newest page; scrolling to the top reads older pages, with day separators', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const carol = await bed.join('carol');
  const data = await tempDir('tui-history-data');
  defer(t, data.remove);
  // 60 lines an hour apart, saved before alice's client starts (the same store, the same password).
  const dir = join(data.path, `127.0.0.1_${bed.server.port}`, 'alice');
  const store = await HistoryStore.open(dir, 'alice password', HISTORY.historyOptions);
  const log = await store.chat('carol');
  const first = Date.now() - 61 * HOUR_MS;
  for (let i = 0; i < 60; i++)
    await log.append({ at: first + i * HOUR_MS, from: 'carol', text: `saved ${i}.`, own: false });
  await store.close();

  const alice = await registeredTui(bed.server, 'alice', { ...HISTORY, dataDir: data.path, historyPageLines: 20 });
  defer(t, () => alice.close());
  await chatFromTui(alice, carol, 'carol');
  alice.vt.type(Keys.alt('2'));
  await alice.vt.waitForText(/saved 59\.[\s\S]*new since/);
  const tab = alice.app.main?.tabs.current;
  assert.equal(tab?.savedBefore, 40, 'the newest 20 read, 40 still in the store');
  assert.equal(tab.lines.slice(0, tab.lines.length).filter((l) => l.text.startsWith('saved')).length, 20);
  // PgUp until the oldest shows: each time the view reaches the top, the page before it is read.
  await waitFor(
    () => {
      if (alice.vt.text().includes('saved 0.')) return true;
      alice.vt.type(Keys.PAGE_UP);
      return false;
    },
    { what: 'the oldest saved line after paging up', intervalMs: 100, timeoutMs: 20_000 },
  );
  assert.equal(tab.savedBefore, 0);
  const texts = tab.lines.slice(0, tab.lines.length).map((l) => l.text);
  assert.deepEqual(
    texts.filter((x) => x.startsWith('saved')),
    Array.from({ length: 60 }, (_, i) => `saved ${i}.`),
    'every saved line once, in order',
  );
  const days = texts.filter((x) => /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d+ \w+ \d{4}$/.test(x));
  assert.ok(days.length >= 3, `a separator per day: ${days.join(', ')}`);
  assert.equal(new Set(days).size, days.length, 'no day twice');
  assert.match(alice.vt.text(), /── (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d+ \w+ \d{4} ──/);
});

test('/passwd re-wraps the history key: the next login with the new password opens the same history', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const carol = await bed.join('carol');
  const config = await tempDir('tui-history-config');
  defer(t, config.remove);
  const data = await tempDir('tui-history-data');
  defer(t, data.remove);
  const options = { ...HISTORY, configDir: config.path, dataDir: data.path };
  const before = await registeredTui(bed.server, 'alice', options);
  const link = await chatFromTui(before, carol, 'carol');
  link.send('kept across a password change');
  before.vt.type(Keys.alt('2'));
  await before.vt.waitForText('carol: kept across a password change');
  before.vt.type('/passwd\r');
  await before.vt.waitForText('Change password');
  before.vt.type('alice password\ra new password\ra new password\r');
  await before.vt.waitForText('Password changed.');
  await before.close();

  const after = await registeredTui(bed.server, 'alice', { ...options, again: true, password: 'a new password' });
  defer(t, () => after.close());
  await chatFromTui(after, carol, 'carol');
  after.vt.type(Keys.alt('2'));
  await after.vt.waitForText('carol: kept across a password change');
  assert.doesNotMatch(after.vt.text(), /did not open/);
  assert.deepEqual(
    (await readdir(join(data.path, `127.0.0.1_${bed.server.port}`))).sort(),
    ['alice'],
    'nothing was moved aside',
  );
});
