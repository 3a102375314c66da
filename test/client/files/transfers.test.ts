/** File transfer over real TLS-PSK peer links on loopback, with real files (PROTOCOL.md section 6.7). */
import assert from 'node:assert/strict';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { TransferState, type Transfer } from '../../../src/client/files/transfers.ts';
import { ErrorCode } from '../../../src/net/errors.ts';
import { fileBed, listDir, randomFile, sha256Of, type FileBed } from '../../helpers/files.ts';
import { nth } from '../../helpers/assert.ts';
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

/** Offer a 100 MB file, cut the link when half has arrived; returns the two transfers and the file's hash. */
async function cutAtHalf(bed: FileBed) {
  const path = join(bed.outbox, 'half.bin');
  const sha = await randomFile(path, 100 * MB);
  const offers: Transfer[] = [];
  bed.receiver.on('offer', (o) => {
    offers.push(o);
    void bed.receiver.accept(o.id);
  });
  const sent = await bed.sender.send(bed.senderLink, path);
  const got = await waitFor(() => (offers[0] && offers[0].bytesDone >= 50 * MB ? offers[0] : null), {
    what: 'half the file',
    timeoutMs: 60_000,
  });
  bed.senderLink.socket.destroy();
  await waitFor(() => got.state === TransferState.INTERRUPTED && sent.state === TransferState.INTERRUPTED, {
    what: 'both sides interrupted',
  });
  // The part and its resume state stay on disk.
  await waitFor(async () => (await listDir(bed.inbox)).join() === 'half.bin.part,half.bin.part.state', {
    what: 'part kept',
  });
  const kept = (await stat(join(bed.inbox, 'half.bin.part'))).size;
  assert.ok(kept >= 50 * MB && kept < 100 * MB, `kept ${kept} bytes`);
  return { got, sent, sha, kept, offers };
}

test('resume: a transfer cut at 50% continues from the receiver part on the next link, checked by hash', async (t) => {
  const bed = await fileBed(t);
  const { got, sent, sha, kept, offers } = await cutAtHalf(bed);
  await bed.reconnect();
  await waitFor(() => got.state === TransferState.DONE, { what: 'the rest', timeoutMs: 60_000 });
  assert.equal(offers.length, 1, 'the resumed offer was not asked about again');
  assert.equal(got.startOffset, kept, 'the second run started where the part ended');
  assert.equal(await sha256Of(join(bed.inbox, 'half.bin')), sha);
  await waitFor(() => sent.state === TransferState.DONE, { what: 'file_done at the sender' });
  assert.deepEqual(await listDir(bed.inbox), ['half.bin']);
});

test('resume onto a part whose bytes changed: the prefix hash differs, the sender starts over from 0', async (t) => {
  const bed = await fileBed(t);
  const { got, sha } = await cutAtHalf(bed);
  const fh = await open(join(bed.inbox, 'half.bin.part'), 'r+');
  await fh.write(Buffer.alloc(4096), 0, 4096, 1000);
  await fh.close();
  await bed.reconnect();
  await waitFor(() => got.state === TransferState.DONE, { what: 'the whole file again', timeoutMs: 60_000 });
  assert.equal(got.startOffset, 0);
  assert.equal(await sha256Of(join(bed.inbox, 'half.bin')), sha);
});

test('decline: the sender sees E_FILE_DECLINED; cancel from the receiver mid-way stops the sender and removes the part', async (t) => {
  const bed = await fileBed(t);
  const small = join(bed.outbox, 'small.txt');
  const big = join(bed.outbox, 'big.bin');
  await randomFile(small, 1000);
  await randomFile(big, 50 * MB);
  const offers: Transfer[] = [];
  bed.receiver.on('offer', (o) => offers.push(o));
  const declined = await bed.sender.send(bed.senderLink, small);
  await waitFor(() => offers.length === 1, { what: 'offer' });
  bed.receiver.decline(nth(offers, 0).id);
  await waitFor(() => declined.state === TransferState.DECLINED, { what: 'declined at the sender' });
  assert.equal(declined.error?.code, ErrorCode.FILE_DECLINED);

  const cancelled = await bed.sender.send(bed.senderLink, big);
  await waitFor(() => offers.length === 2, { what: 'second offer' });
  const incoming = nth(offers, 1);
  await bed.receiver.accept(incoming.id);
  await waitFor(() => incoming.bytesDone > MB, { what: 'some bytes' });
  bed.receiver.cancel(incoming.id);
  await waitFor(() => cancelled.state === TransferState.CANCELLED, { what: 'cancelled at the sender' });
  await waitFor(async () => (await listDir(bed.inbox)).length === 0, { what: 'part removed' });
  // The link still carries chat.
  const chat: string[] = [];
  bed.receiverLink.on('message', (m) => chat.push(m.text));
  bed.senderLink.send('after');
  await waitFor(() => chat.length === 1, { what: 'chat after the cancel' });
});

test('cancel from the sender: the receiver sees E_FILE_CANCELLED and removes its part', async (t) => {
  const bed = await fileBed(t);
  const big = join(bed.outbox, 'big.bin');
  await randomFile(big, 50 * MB);
  const offers: Transfer[] = [];
  bed.receiver.on('offer', (o) => {
    offers.push(o);
    void bed.receiver.accept(o.id);
  });
  const sent = await bed.sender.send(bed.senderLink, big);
  await waitFor(() => (offers[0]?.bytesDone ?? 0) > MB, { what: 'some bytes' });
  bed.sender.cancel(sent.id);
  await waitFor(() => offers[0]?.state === TransferState.CANCELLED, { what: 'cancelled at the receiver' });
  assert.equal(offers[0]?.error?.code, ErrorCode.FILE_CANCELLED);
  await waitFor(async () => (await listDir(bed.inbox)).length === 0, { what: 'part removed' });
});

test('an empty file: offered, accepted, saved, done on both sides', async (t) => {
  const bed = await fileBed(t);
  const path = join(bed.outbox, 'empty.txt');
  await randomFile(path, 0);
  bed.receiver.on('offer', (o) => void bed.receiver.accept(o.id));
  const sent = await bed.sender.send(bed.senderLink, path);
  await waitFor(() => sent.state === TransferState.DONE, { what: 'done' });
  assert.deepEqual(await listDir(bed.inbox), ['empty.txt']);
  assert.equal((await stat(join(bed.inbox, 'empty.txt'))).size, 0);
});
