/**
 * A hostile file sender, driven by hand over a real TLS-PSK link (PROTOCOL.md section 6.7):
 * names that try to leave the download directory or drive the terminal, a sender that sends
 * more than it announced or bytes that do not match its hash, data nobody asked for.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { FileTransfers, TransferState, type Transfer } from '../../../src/client/files/transfers.ts';
import { MAX_UNKNOWN_FILE_REPLIES } from '../../../src/net/constants.ts';
import { ErrorCode } from '../../../src/net/errors.ts';
import { encodeFileData } from '../../../src/net/file-frame.ts';
import type { PeerMessage } from '../../../src/net/messages.ts';
import { defer } from '../../helpers/cleanup.ts';
import { listDir, tempDir } from '../../helpers/files.ts';
import { rawSession } from '../../helpers/peers.ts';
import { waitFor } from '../../helpers/wait.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function hostileBed(t: TestContext) {
  const inbox = await tempDir(t, 'inbox');
  const session = await rawSession();
  defer(t, () => session.close());
  const receiver = new FileTransfers({ downloadDir: inbox });
  receiver.attach(session.link);
  const offers: Transfer[] = [];
  receiver.on('offer', (o) => {
    offers.push(o);
    void receiver.accept(o.id);
  });
  const { raw } = session;
  const reply = <T extends PeerMessage['t']>(t: T, fid: number) =>
    waitFor(
      () => raw.inbox.find((m): m is Extract<PeerMessage, { t: T }> => m.t === t && 'fid' in m && m.fid === fid),
      { what: `${t} for ${fid}` },
    );
  /** Offer `announced`, wait for the accept, then send `body` from offset 0. */
  const push = async (
    fid: number,
    name: string,
    body: Buffer,
    announced = { size: body.length, sha256: sha(body) },
  ) => {
    raw.conn.send({ t: 'file_offer', fid, name, ...announced });
    await reply('file_accept', fid);
    raw.conn.send({ t: 'file_start', fid, offset: 0 });
    if (body.length > 0) raw.conn.sendFrame(encodeFileData(fid, 0, body));
  };
  return { inbox, raw, receiver, offers, reply, push };
}

test('hostile names stay in the download directory, as one safe component, and print safely', async (t) => {
  const bed = await hostileBed(t);
  const names = ['../../etc/passwd', 'CON', '\u001b]0;pwned\u0007\u001b[2Jevil\u001b[31m.txt', '/tmp/x', '..'];
  for (const [index, name] of names.entries()) {
    const fid = index + 1;
    await bed.push(fid, name, Buffer.from(`file ${fid}`));
    await bed.reply('file_done', fid);
  }
  assert.deepEqual(await listDir(bed.inbox), ['_.._etc_passwd', '_CON', '_tmp_x', 'evil.txt', 'file']);
  for (const o of bed.offers) {
    assert.equal(o.state, TransferState.DONE);
    // eslint-disable-next-line no-control-regex -- checking that none is left
    assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(o.name), `printable: ${JSON.stringify(o.name)}`);
    assert.equal(o.savedAs, join(bed.inbox, o.name));
  }
  assert.equal(await readFile(join(bed.inbox, '_.._etc_passwd'), 'utf8'), 'file 1');
});

test('an existing file is never overwritten: the new one gets " (1)"', async (t) => {
  const bed = await hostileBed(t);
  await bed.push(1, 'note.txt', Buffer.from('first'));
  await bed.reply('file_done', 1);
  await bed.push(2, 'note.txt', Buffer.from('second'));
  await bed.reply('file_done', 2);
  assert.deepEqual(await listDir(bed.inbox), ['note (1).txt', 'note.txt']);
  assert.equal(await readFile(join(bed.inbox, 'note.txt'), 'utf8'), 'first');
  assert.equal(await readFile(join(bed.inbox, 'note (1).txt'), 'utf8'), 'second');
});

test('a sender that sends more than the announced size is caught (E_FILE_SIZE_MISMATCH) and the partial removed', async (t) => {
  const bed = await hostileBed(t);
  const body = Buffer.from('0123456789abcdefghij');
  await bed.push(1, 'short.txt', body, { size: 10, sha256: sha(body.subarray(0, 10)) });
  const refused = await bed.reply('file_refuse', 1);
  assert.equal(refused.code, ErrorCode.FILE_SIZE_MISMATCH);
  await waitFor(() => bed.offers[0]?.state === TransferState.FAILED, { what: 'failed' });
  assert.equal(bed.offers[0]?.error?.code, ErrorCode.FILE_SIZE_MISMATCH);
  await waitFor(async () => (await listDir(bed.inbox)).length === 0, { what: 'partial removed' });
});

test('a sender whose bytes do not match the offered SHA-256 is caught (E_FILE_HASH_MISMATCH) and nothing is kept', async (t) => {
  const bed = await hostileBed(t);
  const body = Buffer.from('the real bytes');
  await bed.push(1, 'lie.txt', body, { size: body.length, sha256: sha(Buffer.from('other bytes!!!')) });
  const refused = await bed.reply('file_refuse', 1);
  assert.equal(refused.code, ErrorCode.FILE_HASH_MISMATCH);
  assert.equal(bed.offers[0]?.state, TransferState.FAILED);
  await waitFor(async () => (await listDir(bed.inbox)).length === 0, { what: 'partial removed' });
});

test('data at the wrong offset, before file_start, or for an unknown file is refused; the link goes on', async (t) => {
  const bed = await hostileBed(t);
  bed.raw.conn.sendFrame(encodeFileData(99, 0, Buffer.from('x')));
  assert.equal((await bed.reply('file_refuse', 99)).code, ErrorCode.FILE_UNKNOWN);
  const body = Buffer.from('abcdef');
  bed.raw.conn.send({ t: 'file_offer', fid: 1, name: 'a', size: body.length, sha256: sha(body) });
  await bed.reply('file_accept', 1);
  bed.raw.conn.sendFrame(encodeFileData(1, 0, body));
  assert.equal((await bed.reply('file_refuse', 1)).code, ErrorCode.BAD_MESSAGE);
  bed.raw.conn.send({ t: 'file_offer', fid: 2, name: 'b', size: body.length, sha256: sha(body) });
  await bed.reply('file_accept', 2);
  bed.raw.conn.send({ t: 'file_start', fid: 2, offset: 0 });
  bed.raw.conn.sendFrame(encodeFileData(2, 3, body.subarray(3)));
  assert.equal((await bed.reply('file_refuse', 2)).code, ErrorCode.BAD_MESSAGE);
  // A re-used fid is refused too; a fresh one still works.
  bed.raw.conn.send({ t: 'file_offer', fid: 2, name: 'c', size: 1, sha256: sha(Buffer.from('c')) });
  await waitFor(() => bed.raw.inbox.filter((m) => m.t === 'file_refuse' && m.fid === 2).length === 2, {
    what: 'second refusal',
  });
  await bed.push(3, 'ok.txt', body);
  await bed.reply('file_done', 3);
  assert.deepEqual(await listDir(bed.inbox), ['ok.txt']);
});

test('data for an unknown file is answered E_FILE_UNKNOWN at most 10 times per link, then dropped', async (t) => {
  const bed = await hostileBed(t);
  for (let n = 0; n < 15; n++) bed.raw.conn.sendFrame(encodeFileData(77, n, Buffer.from('x')));
  const body = Buffer.from('after');
  await bed.push(1, 'after.txt', body);
  await bed.reply('file_done', 1);
  const refusals = bed.raw.inbox.filter((m) => m.t === 'file_refuse' && m.fid === 77);
  assert.equal(refusals.length, MAX_UNKNOWN_FILE_REPLIES);
  assert.ok(refusals.every((m) => m.t === 'file_refuse' && m.code === ErrorCode.FILE_UNKNOWN));
});
