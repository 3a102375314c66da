/**
 * Disk full on the receiving side (PROTOCOL.md section 6.7): a real 1 MiB tmpfs as the download
 * directory, a 3 MiB file. Mounting needs root (as the NAT suite does); elsewhere it is skipped.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileTransfers, TransferState, type Transfer } from '../../../src/client/files/transfers.ts';
import { ErrorCode } from '../../../src/net/errors.ts';
import { defer } from '../../helpers/cleanup.ts';
import { listDir, randomFile, tempDir } from '../../helpers/files.ts';
import { linkPair } from '../../helpers/peers.ts';
import { mountTmpfs, TMPFS_SKIP } from '../../helpers/tmpfs.ts';
import { waitFor } from '../../helpers/wait.ts';

const FULL_DISK_BYTES = 1024 * 1024;

test(
  'disk full: E_FILE_DISK_FULL in plain words on both sides, the partial removed, the link goes on',
  { skip: TMPFS_SKIP },
  async (t) => {
    const inbox = await mountTmpfs(t, FULL_DISK_BYTES);
    const outbox = await tempDir(t, 'outbox');
    const pair = await linkPair();
    defer(t, () => pair.close());
    const sender = new FileTransfers({ downloadDir: outbox });
    const receiver = new FileTransfers({ downloadDir: inbox });
    sender.attach(pair.dialer);
    receiver.attach(pair.accepted);
    const offers: Transfer[] = [];
    receiver.on('offer', (o) => {
      offers.push(o);
      void receiver.accept(o.id);
    });
    const path = join(outbox, 'too-big-for-the-disk.bin');
    await randomFile(path, 3 * FULL_DISK_BYTES);
    const sent = await sender.send(pair.dialer, path);
    await waitFor(() => offers[0]?.state === TransferState.FAILED, { what: 'the receiver fails', timeoutMs: 30_000 });
    assert.equal(offers[0]?.error?.code, ErrorCode.FILE_DISK_FULL);
    assert.match(offers[0]?.error?.message ?? '', /disk is full/);
    await waitFor(() => sent.state === TransferState.FAILED, { what: 'the sender is told' });
    assert.equal(sent.error?.code, ErrorCode.FILE_DISK_FULL);
    await waitFor(async () => (await listDir(inbox)).length === 0, { what: 'partial and state removed' });
    const chat: string[] = [];
    pair.accepted.on('message', (m) => chat.push(m.text));
    pair.dialer.send('still talking');
    await waitFor(() => chat.length === 1, { what: 'chat after the failure' });
  },
);
