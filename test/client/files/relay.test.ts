/**
 * A file over a relayed peer link (PROTOCOL.md sections 6.6 and 6.7): two clients that cannot
 * reach each other, a real server relaying; the file arrives whole and the server never holds
 * a plaintext byte of it.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileTransfers, TransferState, type Transfer } from '../../../src/client/files/transfers.ts';
import { defer } from '../../helpers/cleanup.ts';
import { randomFile, sha256Of, tempDir } from '../../helpers/files.ts';
import { connectPair, startPeerBed } from '../../helpers/peers.ts';
import { waitFor } from '../../helpers/wait.ts';

test('a 512 KiB file over the relay arrives with the right hash; the relay sees only ciphertext', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const relayed: Buffer[] = [];
  bed.server.app.core.relay.tap = (_from, chunk) => relayed.push(Buffer.from(chunk));
  const alice = await bed.join('alice', {}, false);
  const bob = await bed.join('bob', {}, false);
  const { ab, ba } = await connectPair(alice, bob);
  assert.deepEqual([ab.path, ba.path], ['relay', 'relay']);
  const outbox = await tempDir(t, 'outbox');
  const inbox = await tempDir(t, 'inbox');
  const sender = new FileTransfers({ downloadDir: outbox });
  const receiver = new FileTransfers({ downloadDir: inbox });
  sender.attach(ab);
  receiver.attach(ba);
  const offers: Transfer[] = [];
  receiver.on('offer', (o) => {
    offers.push(o);
    void receiver.accept(o.id);
  });
  const path = join(outbox, 'relayed.bin');
  const sha = await randomFile(path, 512 * 1024);
  const sent = await sender.send(ab, path);
  await waitFor(() => sent.state === TransferState.DONE, { what: 'file_done over the relay', timeoutMs: 30_000 });
  assert.equal(offers[0]?.state, TransferState.DONE);
  assert.equal(await sha256Of(join(inbox, 'relayed.bin')), sha);
  const seen = Buffer.concat(relayed);
  assert.ok(seen.length > 512 * 1024, 'the file went through the relay');
  const plain = await readFile(path);
  for (const at of [0, 100_000, 300_000, 500_000]) {
    assert.equal(seen.includes(plain.subarray(at, at + 64)), false, `plaintext at ${at} seen by the relay`);
  }
});
