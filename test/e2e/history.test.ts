/**
 * History end to end: the real p2p-client in a pseudo-terminal. A user who chatted, quit and
 * started again sees the chat; with --no-history nothing at all is written to the data dir.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { PeerLink } from '../../src/client/peer/link.ts';
import { defer } from '../helpers/cleanup.ts';
import { ClientProcess } from '../helpers/pty.ts';
import { startPeerBed, type PeerClient } from '../helpers/peers.ts';
import { tempDir } from '../helpers/server.ts';
import { Keys, trustAndRegister } from '../helpers/terminal.ts';

const START_MS = 30_000;

/** Every file under `dir` (none if it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The client asks `peer` for a chat with /connect; the peer accepts and says `text`. */
async function chatWith(client: ClientProcess, peer: PeerClient, text: string): Promise<PeerLink> {
  const linked = new Promise<PeerLink>((resolve, reject) =>
    peer.peers.once('prompt', (p) => void peer.peers.accept(p.reqId).then(resolve, reject)),
  );
  client.type(`/connect ${peer.user}\r`);
  const link = await linked;
  link.send(text);
  client.type(Keys.alt('2'));
  await client.waitForText(`${peer.user}: ${text}`);
  return link;
}

async function quit(client: ClientProcess): Promise<void> {
  client.type(Keys.F10);
  await client.waitForText('Quit p2p-client?');
  client.type('y');
  assert.equal(await client.waitForExit(), 0);
}

test('e2e: the chat is there after quitting and starting again; the data dir holds only sealed files', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const carol = await bed.join('carol');
  const config = await tempDir('e2e-history');
  defer(t, config.remove);
  const args = ['127.0.0.1', String(bed.server.port)];

  const first = await ClientProcess.spawn(args, { configDir: config.path });
  defer(t, () => first.kill());
  await trustAndRegister(first, 'alice', 'alice password', START_MS);
  await chatWith(first, carol, 'remember this');
  await quit(first);
  const files = await filesUnder(join(config.path, 'data'));
  assert.ok(
    files.some((f) => f.includes('chat-')),
    files.join('\n'),
  );

  const second = await ClientProcess.spawn(args, { configDir: config.path });
  defer(t, () => second.kill());
  await second.waitForText('[l] Login', START_MS);
  second.type('l');
  await second.waitForText('Password');
  second.type('alice\ralice password\r');
  await second.waitForText('Logged in as alice');
  const link = await chatWith(second, carol, 'and this is new');
  const screen = await second.waitForText(/carol: remember this[\s\S]*new since[\s\S]*carol: and this is new/);
  assert.match(screen, /carol: remember this/);
  link.close('bye');
});

test('e2e: --no-history writes nothing to the data dir', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const carol = await bed.join('carol');
  const config = await tempDir('e2e-no-history');
  defer(t, config.remove);
  const client = await ClientProcess.spawn(['--no-history', '127.0.0.1', String(bed.server.port)], {
    configDir: config.path,
  });
  defer(t, () => client.kill());
  await trustAndRegister(client, 'alice', 'alice password', START_MS);
  await chatWith(client, carol, 'forget this');
  client.type(Keys.alt('1'));
  client.type('/broadcast nobody keeps this\r');
  await client.waitForText('alice: nobody keeps this');
  await quit(client);
  assert.deepEqual(await filesUnder(join(config.path, 'data')), []);
  // The config dir itself holds known_hosts only.
  assert.deepEqual(
    (await filesUnder(config.path)).map((f) => f.slice(config.path.length + 1)),
    ['known_hosts'],
  );
});
