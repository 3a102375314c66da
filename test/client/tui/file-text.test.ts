/** File transfer commands and words in the TUI (PROTOCOL.md section 6.7): parsing and formatting, pure. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransferState, type Transfer } from '../../../src/client/files/transfer.ts';
import { COMMANDS, parseCommand, type Command } from '../../../src/client/tui/commands.ts';
import {
  bytesText,
  durationText,
  progressText,
  statusSegment,
  transferRow,
} from '../../../src/client/tui/files/text.ts';
import { ProtocolError, ErrorCode } from '../../../src/net/errors.ts';

const cases: Array<[string, Command]> = [
  ['/send ~/photos/cat 1.jpg', { kind: 'file', file: { op: 'send', path: '~/photos/cat 1.jpg' } }],
  ['/send', { kind: 'error', message: 'Usage: /send <path>' }],
  ['/get', { kind: 'file', file: { op: 'get', id: null } }],
  ['/get 3', { kind: 'file', file: { op: 'get', id: 3 } }],
  ['/get #3', { kind: 'file', file: { op: 'get', id: 3 } }],
  ['/get x', { kind: 'error', message: 'Usage: /get [n]' }],
  ['/decline-file', { kind: 'file', file: { op: 'decline', id: null } }],
  ['/decline-file 12', { kind: 'file', file: { op: 'decline', id: 12 } }],
  ['/transfers', { kind: 'file', file: { op: 'list' } }],
  ['/cancel 2', { kind: 'file', file: { op: 'cancel', id: 2 } }],
  ['/cancel', { kind: 'error', message: 'Usage: /cancel <n> (the number /transfers shows)' }],
];

for (const [line, expected] of cases) {
  test(`parse ${JSON.stringify(line)}`, () => assert.deepEqual(parseCommand(line), expected));
}

test('the help lists the file commands', () => {
  const usages = COMMANDS.map((c) => c.usage);
  for (const u of ['/send <path>', '/get [n]', '/decline-file [n]', '/transfers', '/cancel <n>']) {
    assert.ok(usages.includes(u), u);
  }
});

const MiB = 1024 * 1024;
const transfer = (over: Partial<Transfer>): Transfer => ({
  id: 1,
  direction: 'send',
  peerUser: 'bob',
  name: 'big.bin',
  size: 100 * MiB,
  sha256: 'ab'.repeat(32),
  state: TransferState.ACTIVE,
  bytesDone: 45 * MiB,
  startOffset: 0,
  startedAt: 0,
  rateBytesPerSec: 11 * MiB,
  savedAs: null,
  error: null,
  ...over,
});

test('sizes and durations in words', () => {
  assert.equal(bytesText(0), '0 B');
  assert.equal(bytesText(1023), '1023 B');
  assert.equal(bytesText(1536), '1.5 KiB');
  assert.equal(bytesText(4 * 1024 ** 3), '4.0 GiB');
  assert.equal(durationText(4.4), '4 s');
  assert.equal(durationText(75), '1 min 15 s');
  assert.equal(durationText(7300), '2 h 1 min');
});

test('progress: percentage, bytes, rate, time left (rate and time only once known)', () => {
  assert.equal(progressText(transfer({})), '45% 45.0 MiB of 100.0 MiB, 11.0 MiB/s, 5 s left');
  assert.equal(progressText(transfer({ rateBytesPerSec: 0 })), '45% 45.0 MiB of 100.0 MiB');
  assert.equal(progressText(transfer({ size: 0, bytesDone: 0, rateBytesPerSec: 0 })), '100% 0 B of 0 B');
});

test('status segment: one transfer in full or short, several summed, none empty', () => {
  assert.equal(statusSegment([]), '');
  assert.equal(statusSegment([transfer({ state: TransferState.DONE })]), '');
  assert.equal(statusSegment([transfer({})]), '↑ big.bin 45% 45.0 MiB of 100.0 MiB, 11.0 MiB/s, 5 s left');
  assert.equal(
    statusSegment([transfer({ name: 'x'.repeat(40), direction: 'receive' })], true),
    `↓ ${'x'.repeat(23)}… 45%`,
  );
  assert.equal(
    statusSegment([transfer({}), transfer({ id: 2, bytesDone: 55 * MiB, rateBytesPerSec: MiB })]),
    '2 files 50%, 12.0 MiB/s',
  );
});

test('a /transfers row says direction, peer, state, and why it failed', () => {
  assert.equal(
    transferRow(transfer({})),
    '#1 ↑ big.bin (100.0 MiB) to bob: moving, 45% 45.0 MiB of 100.0 MiB, 11.0 MiB/s, 5 s left',
  );
  assert.equal(
    transferRow(transfer({ direction: 'receive', state: TransferState.DONE, savedAs: '/d/big.bin' })),
    '#1 ↓ big.bin (100.0 MiB) from bob: done, saved as /d/big.bin',
  );
  const error = new ProtocolError(ErrorCode.FILE_HASH_MISMATCH, 'the SHA-256 of what arrived is not the one offered');
  assert.equal(
    transferRow(transfer({ state: TransferState.FAILED, error })),
    '#1 ↑ big.bin (100.0 MiB) to bob: failed (the SHA-256 of what arrived is not the one offered)',
  );
});
