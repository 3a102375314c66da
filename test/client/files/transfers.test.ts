/** File transfer over real TLS-PSK peer links on loopback, with real files (PROTOCOL.md section 6.7). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { TransferState, type Transfer } from '../../../src/client/files/transfers.ts';
import { ErrorCode } from '../../../src/net/errors.ts';
import { fileBed, listDir, randomFile, sha256Of } from '../../helpers/files.ts';
import { waitFor } from '../../helpers/wait.ts';

const MB = 1024 * 1024;

test('a 100 MB file arrives with the right SHA-256, under its own name, while chat keeps flowing', async (t) => {
  const bed = await fileBed(t);
  const path = join(bed.outbox, 'big.bin');
  const sha = await randomFile(path, 100 * MB);
  const offers: Transfer[] = [];
  bed.receiver.on('offer', (o) => {
    offers.push(o);
    void bed.receiver.accept(o.id);
  });
  const chat: string[] = [];
  let stateAtChat = '';
  bed.receiverLink.on('message', (m) => {
    chat.push(m.text);
    stateAtChat = offers[0]?.state ?? '';
  });
  const sent = await bed.sender.send(bed.senderLink, path);
  await waitFor(() => offers[0]?.state === TransferState.ACTIVE && offers[0].bytesDone > 10 * MB, {
    what: 'bytes moving',
  });
  bed.senderLink.send('still here');
  await waitFor(() => chat.length === 1, { what: 'chat during the transfer' });
  const got = await waitFor(() => (offers[0]?.state === TransferState.DONE ? offers[0] : null), {
    what: 'the file',
    timeoutMs: 120_000,
  });
  assert.equal(stateAtChat, TransferState.ACTIVE, 'the message arrived while the file was still moving');
  assert.equal(got.sha256, sha);
  assert.equal(got.savedAs, join(bed.inbox, 'big.bin'));
  assert.equal(await sha256Of(join(bed.inbox, 'big.bin')), sha);
  await waitFor(() => sent.state === TransferState.DONE, { what: 'file_done at the sender' });
  assert.deepEqual(await listDir(bed.inbox), ['big.bin']);
});

test('an offer over the receiver limit is refused with E_FILE_TOO_LARGE; exactly the limit is offered', async (t) => {
  const bed = await fileBed(t, { maxFileBytes: 1000 });
  const offers: Transfer[] = [];
  bed.receiver.on('offer', (o) => offers.push(o));
  const big = join(bed.outbox, 'big');
  const ok = join(bed.outbox, 'ok');
  await randomFile(big, 1001);
  await randomFile(ok, 1000);
  const refused = await bed.sender.send(bed.senderLink, big);
  await waitFor(() => refused.state === TransferState.DECLINED, { what: 'refusal' });
  assert.equal(refused.error?.code, ErrorCode.FILE_TOO_LARGE);
  const fine = await bed.sender.send(bed.senderLink, ok);
  await waitFor(() => offers.length === 1, { what: 'the offer at the limit' });
  assert.equal(offers[0]?.size, 1000);
  assert.equal(fine.state, TransferState.OFFERED);
  assert.deepEqual(await listDir(bed.inbox), [], 'nothing written without consent');
});
