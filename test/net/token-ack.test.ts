import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_BROADCAST_ACK_IDS_UDP, UDP_TOKEN_ACK_VERSION } from '../../src/net/constants.ts';
import { decodeTokenAck, encodeTokenAck, tokenAckable } from '../../src/net/token-ack.ts';
import { tokenText } from '../helpers/ack-token.ts';

const sid = Buffer.from('0102030405060708', 'hex');
const entry = (i: number) => ({
  bid: i.toString(16).padStart(16, '0'),
  k: (0xf0000000 + i).toString(16).padStart(16, 'a'),
});

test('token ack: encode then decode gives the entries back, the token as two halves', () => {
  const entries = [entry(1), entry(2), { bid: 'ffffffffffffffff', k: '00000000ffffffff' }];
  const datagram = encodeTokenAck(sid, entries);
  assert.equal(datagram[0], UDP_TOKEN_ACK_VERSION);
  assert.equal(datagram.length, 10 + 16 * entries.length);
  const read = decodeTokenAck(datagram);
  assert.ok(read);
  assert.deepEqual(read.sid, sid);
  assert.deepEqual(
    read.entries.map((e) => ({ bid: e.bid, k: tokenText(e.hi, e.lo) })),
    entries,
  );
  assert.deepEqual(read.entries[2], { bid: 'ffffffffffffffff', hi: 0, lo: 0xffffffff });
});

test('token ack: 64 entries fit, 0 and 65 are refused by the encoder', () => {
  const max = Array.from({ length: MAX_BROADCAST_ACK_IDS_UDP }, (_, i) => entry(i));
  assert.equal(decodeTokenAck(encodeTokenAck(sid, max))?.entries.length, MAX_BROADCAST_ACK_IDS_UDP);
  assert.throws(() => encodeTokenAck(sid, []), RangeError);
  assert.throws(() => encodeTokenAck(sid, [...max, entry(99)]), RangeError);
  assert.throws(() => encodeTokenAck(Buffer.alloc(7), [entry(1)]), RangeError);
  assert.throws(() => encodeTokenAck(sid, [{ bid: 'abc', k: entry(1).k }]), RangeError);
});

test('token ack: malformed datagrams decode to null, never throw', () => {
  const good = encodeTokenAck(sid, [entry(1), entry(2)]);
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['header only', good.subarray(0, 10)],
    ['one byte short', good.subarray(0, good.length - 1)],
    ['one byte long', Buffer.concat([good, Buffer.alloc(1)])],
    ['count says 3, holds 2', Buffer.from(good).fill(3, 9, 10)],
    ['count 0', Buffer.concat([good.subarray(0, 9), Buffer.from([0])])],
    ['count 65', Buffer.concat([good.subarray(0, 9), Buffer.from([65]), Buffer.alloc(65 * 16)])],
    ['sealed version', Buffer.from(good).fill(1, 0, 1)],
    ['unknown version', Buffer.from(good).fill(3, 0, 1)],
  ];
  for (const [name, datagram] of cases) assert.equal(decodeTokenAck(datagram), null, name);
});

test('tokenAckable: a 16-hex-digit bid and token only', () => {
  assert.equal(tokenAckable('0123456789abcdef', '0123456789abcdef'), true);
  assert.equal(tokenAckable('0123456789abcdef', undefined), false);
  assert.equal(tokenAckable('0123456789ABCDEF', '0123456789abcdef'), false);
  assert.equal(tokenAckable('0123456789abcde', '0123456789abcdef'), false);
  assert.equal(tokenAckable('0123456789abcdef', '0123456789abcdeg'), false);
});
