/**
 * File transfer in the TUI (PROTOCOL.md section 6.7), in-process against a real server, with
 * a headless peer on the far side: an offer shown and accepted with /get, a hostile name
 * printed safely, /send with progress in the tab title and the status bar, /transfers, /cancel.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { FileTransfers, TransferState, type Transfer } from '../../../src/client/files/transfers.ts';
import type { PeerLink } from '../../../src/client/peer/link.ts';
import { PeerManager } from '../../../src/client/peer/manager.ts';
import { defer } from '../../helpers/cleanup.ts';
import { randomFile, sha256Of, tempDir } from '../../helpers/files.ts';
import { startTestServer } from '../../helpers/server.ts';
import { Keys } from '../../helpers/terminal.ts';
import { registeredTui, type RegisteredTui } from '../../helpers/tui.ts';
import { waitFor } from '../../helpers/wait.ts';

interface Bed {
  alice: RegisteredTui;
  aliceInbox: string;
  bobFiles: FileTransfers;
  bobLink: PeerLink;
  bobInbox: string;
}

/** alice in the TUI, bob headless with file transfer; bob asks, alice accepts the chat. */
async function chatBed(t: TestContext): Promise<Bed> {
  const server = await startTestServer();
  const aliceInbox = await tempDir(t, 'alice-inbox');
  const bobInbox = await tempDir(t, 'bob-inbox');
  // Wide, so that a note is one row and can be matched whole.
  const alice = await registeredTui(server, 'alice', { files: { downloadDir: aliceInbox }, columns: 220 });
  const client = await server.client();
  const peers = new PeerManager(client);
  await peers.start();
  await client.register('bob', 'bob password');
  defer(t, async () => {
    await peers.close();
    await alice.close();
    await server.close();
  });
  const bobFiles = new FileTransfers({ downloadDir: bobInbox });
  const asked = peers.requestPeer({ user: 'alice' });
  await alice.vt.waitForText('wants to chat with you');
  alice.vt.type(Keys.alt('y'));
  const result = await asked;
  if (result.outcome !== 'accepted') throw new Error(`not accepted: ${result.outcome}`);
  bobFiles.attach(result.link);
  // The chat opens in the background: Alt-A goes there.
  await alice.vt.waitForText('new chat: 2 bob');
  alice.vt.type(Keys.alt('a'));
  await alice.vt.waitForText('Message to bob');
  return { alice, aliceInbox, bobFiles, bobLink: result.link, bobInbox };
}

test('an offer is shown with size and SHA-256; /get saves it; a hostile name prints safely', async (t) => {
  const bed = await chatBed(t);
  const source = join(bed.bobInbox, 'source.bin');
  const sha = await randomFile(source, 300_000);
  // The offer's name is what bob's side sends: the base name, made safe before it goes.
  const sent = await bed.bobFiles.send(bed.bobLink, source);
  await bed.alice.vt.waitForText(/bob offers source\.bin \(293\.0 KiB\), SHA-256 [0-9a-f]{8}/);
  bed.alice.vt.type('/get\r');
  await bed.alice.vt.waitForText(`Saved source.bin as ${join(bed.aliceInbox, 'source.bin')}`);
  assert.equal(await sha256Of(join(bed.aliceInbox, 'source.bin')), sha);
  await waitFor(() => sent.state === TransferState.DONE, { what: 'file_done at bob' });

  // A name with escape sequences and a path, offered raw on the wire.
  const body = Buffer.from('hostile');
  bed.bobLink.sendFileControl({
    t: 'file_offer',
    fid: 99,
    name: '../\u001b]0;owned\u0007\u001b[2Jevil.txt',
    size: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
  });
  await bed.alice.vt.waitForText('bob offers _evil.txt (7 B)');
  assert.ok(!bed.alice.vt.text().includes('owned'), 'the OSC payload is not shown');
});

test('/send: progress in the tab title and the status bar while bytes move; /transfers lists; done is noted', async (t) => {
  const bed = await chatBed(t);
  const path = join(bed.aliceInbox, 'big.bin');
  await randomFile(path, 8 * 1024 * 1024);
  const offers: Transfer[] = [];
  let paused = false;
  bed.bobFiles.on('offer', (o) => {
    offers.push(o);
    void bed.bobFiles.accept(o.id);
  });
  // Hold the transfer part-way (bob stops reading) so the progress can be seen.
  bed.bobFiles.on('progress', (p) => {
    if (!paused && p.bytesDone > 0) {
      paused = true;
      bed.bobLink.pauseReading();
    }
  });
  bed.alice.vt.type(`/send ${path}\r`);
  await bed.alice.vt.waitForText('Sending big.bin (8.0 MiB) to bob');
  // The status bar in full, the tab title in short.
  await bed.alice.vt.waitForText(/↑ big\.bin \d+% [\d.]+ [KM]iB of 8\.0 MiB/);
  await bed.alice.vt.waitForText(/code \d{4} \d{4} \d{4} · ↑ big\.bin \d+% ─/);
  bed.alice.vt.type('/transfers\r');
  await bed.alice.vt.waitForText(/#\d+ ↑ big\.bin \(8\.0 MiB\) to bob: moving/);
  bed.bobLink.resumeReading();
  await bed.alice.vt.waitForText('bob received big.bin; the SHA-256 matched.');
  await bed.alice.vt.waitForGone(/· ↑ big\.bin \d+%/);
  assert.equal(offers[0]?.state, TransferState.DONE);
  assert.deepEqual(await readFile(join(bed.bobInbox, 'big.bin')), await readFile(path));
});

test('/cancel n stops a transfer on both sides; /get with nothing offered and /send without a path say why', async (t) => {
  const bed = await chatBed(t);
  const path = join(bed.aliceInbox, 'slow.bin');
  await randomFile(path, 4 * 1024 * 1024);
  const offers: Transfer[] = [];
  bed.bobFiles.on('offer', (o) => offers.push(o));
  bed.alice.vt.type('/get\r');
  await bed.alice.vt.waitForText('No file offer is waiting for an answer here.');
  bed.alice.vt.type(`/send ${path}\r`);
  await bed.alice.vt.waitForText(/Offered slow\.bin \(4\.0 MiB\) to bob; waiting for bob to accept\. \/cancel (\d+)/);
  const id = /\/cancel (\d+) withdraws/.exec(bed.alice.vt.text())?.[1];
  assert.ok(id);
  bed.alice.vt.type(`/cancel ${id}\r`);
  await bed.alice.vt.waitForText('slow.bin (4.0 MiB) to bob: cancelled');
  await waitFor(() => offers[0]?.state === TransferState.CANCELLED, { what: 'cancelled at bob' });
  bed.alice.vt.type('/send\r');
  await bed.alice.vt.waitForText('Usage: /send <path>');
});
