/**
 * History in the TUI, in-process against a real server with a headless peer: one tab per
 * person (a chat that ended goes on in the same tab), and a restart that brings back chats,
 * the broadcast inbox and the input history from the encrypted store.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { PeerLink } from '../../../src/client/peer/link.ts';
import { defer } from '../../helpers/cleanup.ts';
import { startPeerBed, type PeerClient } from '../../helpers/peers.ts';
import { tempDir } from '../../helpers/server.ts';
import { Keys } from '../../helpers/terminal.ts';
import { registeredTui, type RegisteredTui } from '../../helpers/tui.ts';

const HISTORY = { historyOptions: { logN: 10 } };

/** The TUI user asks `peer` for a chat with /connect and the peer accepts: the peer's end. */
async function chatFromTui(tui: RegisteredTui, peer: PeerClient, name: string): Promise<PeerLink> {
  const linked = new Promise<PeerLink>((resolve, reject) =>
    peer.peers.once('prompt', (p) => void peer.peers.accept(p.reqId).then(resolve, reject)),
  );
  tui.vt.type(`/connect ${name}\r`);
  return linked;
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
