/**
 * Sealed UDP datagrams and the UDP channel (PROTOCOL.md section 5), without sockets.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_DATAGRAM_BYTES, UDP_HEADER_BYTES, UDP_TAG_BYTES } from '../../src/net/constants.ts';
import { Direction, openDatagram, readHeader, sealDatagram } from '../../src/net/datagram.ts';
import {
  udpClientMessages,
  udpServerMessages,
  type UdpClientMessage,
  type UdpServerMessage,
} from '../../src/net/messages.ts';
import { UdpChannel } from '../../src/net/udp-channel.ts';
import { nth } from '../helpers/assert.ts';

const key = randomBytes(32);
const sid = randomBytes(8);
const ping = (n: number): UdpClientMessage => ({ t: 'ping', n });
const pong = (n: number): UdpServerMessage => ({ t: 'pong', n });
const C2S = Direction.CLIENT_TO_SERVER;
const S2C = Direction.SERVER_TO_CLIENT;

function open(k: Buffer, direction: Direction, datagram: Buffer): Buffer | null {
  const header = readHeader(datagram);
  return header ? openDatagram(k, direction, datagram, header) : null;
}

describe('seal and open', () => {
  test('round trip, with the layout of section 5', () => {
    const plaintext = Buffer.from('{"t":"hello"}');
    const datagram = sealDatagram(key, sid, C2S, 7, plaintext);
    assert.equal(datagram.length, UDP_HEADER_BYTES + plaintext.length + UDP_TAG_BYTES);
    assert.equal(datagram[0], 1);
    assert.deepEqual(datagram.subarray(1, 9), sid);
    assert.equal(datagram.readBigUInt64BE(9), 7n);
    assert.ok(!datagram.includes(plaintext), 'the payload is encrypted');
    const header = readHeader(datagram);
    assert.ok(header);
    assert.deepEqual(header.sid, sid);
    assert.equal(header.seq, 7);
    assert.deepEqual(openDatagram(key, C2S, datagram, header), plaintext);
  });

  test('an empty payload and a sequence number above 2^32 round-trip', () => {
    const seq = 2 ** 40 + 3;
    const datagram = sealDatagram(key, sid, S2C, seq, Buffer.alloc(0));
    assert.equal(readHeader(datagram)?.seq, seq);
    assert.deepEqual(open(key, S2C, datagram), Buffer.alloc(0));
  });

  test('the same payload sealed twice gives different bytes (a nonce per sequence number)', () => {
    const a = sealDatagram(key, sid, C2S, 1, Buffer.from('x'));
    const b = sealDatagram(key, sid, C2S, 2, Buffer.from('x'));
    assert.notDeepEqual(a.subarray(UDP_HEADER_BYTES), b.subarray(UDP_HEADER_BYTES));
  });

  test('tampering with any single byte is rejected', () => {
    const datagram = sealDatagram(key, sid, C2S, 42, Buffer.from('{"t":"ping","n":1}'));
    for (let i = 0; i < datagram.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const copy = Buffer.from(datagram);
        copy.writeUInt8(copy.readUInt8(i) ^ mask, i);
        assert.equal(open(key, C2S, copy), null, `byte ${i} ^ ${mask} was accepted`);
      }
    }
  });

  test('property: any change to any bytes is rejected', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        (payload, seq, edits) => {
          const datagram = sealDatagram(key, sid, C2S, seq, Buffer.from(payload));
          const copy = Buffer.from(datagram);
          for (const [at, mask] of edits) copy.writeUInt8(copy.readUInt8(at % copy.length) ^ mask, at % copy.length);
          if (copy.equals(datagram)) return; // edits cancelled out
          assert.equal(open(key, C2S, copy), null);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('truncated or extended datagrams are rejected', () => {
    const datagram = sealDatagram(key, sid, C2S, 5, Buffer.from('payload'));
    for (let n = 0; n < datagram.length; n++)
      assert.equal(open(key, C2S, datagram.subarray(0, n)), null, `cut at ${n}`);
    assert.equal(open(key, C2S, Buffer.concat([datagram, Buffer.from([0])])), null);
  });

  test('wrong key or wrong direction is rejected', () => {
    const datagram = sealDatagram(key, sid, C2S, 5, Buffer.from('payload'));
    assert.equal(open(randomBytes(32), C2S, datagram), null);
    assert.equal(open(key, S2C, datagram), null, 'a reflected datagram must not open');
  });

  test('readHeader refuses what cannot be ours, and never throws', () => {
    const good = sealDatagram(key, sid, C2S, 1, Buffer.alloc(10));
    const badVersion = Buffer.from(good);
    badVersion[0] = 2;
    const seqZero = Buffer.from(good);
    seqZero.fill(0, 9, 17);
    const seqHuge = Buffer.from(good);
    seqHuge.writeUInt32BE(2 ** 21, 9);
    for (const d of [
      Buffer.alloc(0),
      Buffer.alloc(UDP_HEADER_BYTES + UDP_TAG_BYTES - 1, 1),
      badVersion,
      seqZero,
      seqHuge,
      Buffer.alloc(MAX_DATAGRAM_BYTES + 1, 1),
    ]) {
      assert.equal(readHeader(d), null);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => {
        const header = readHeader(Buffer.from(raw));
        if (header) assert.ok(Number.isSafeInteger(header.seq) && header.seq > 0);
      }),
    );
  });

  test('sealing refuses bad keys, session ids and sequence numbers', () => {
    assert.throws(() => sealDatagram(randomBytes(16), sid, C2S, 1, Buffer.alloc(0)), RangeError);
    assert.throws(() => sealDatagram(key, randomBytes(4), C2S, 1, Buffer.alloc(0)), RangeError);
    for (const seq of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1]) {
      assert.throws(() => sealDatagram(key, sid, C2S, seq, Buffer.alloc(0)), RangeError);
    }
  });
});

describe('UdpChannel', () => {
  const pair = () => ({
    client: new UdpChannel(key, sid, C2S, udpServerMessages),
    server: new UdpChannel(key, sid, S2C, udpClientMessages),
  });
  const openAt = (ch: UdpChannel<typeof udpClientMessages>, d: Buffer) =>
    ch.open(d, readHeader(d) as NonNullable<ReturnType<typeof readHeader>>);

  test('messages go both ways with counting sequence numbers', () => {
    const { client, server } = pair();
    const d1 = client.seal({ t: 'hello' });
    const d2 = client.seal(ping(1));
    assert.deepEqual(openAt(server, d1), { ok: true, message: { t: 'hello' }, seq: 1 });
    assert.deepEqual(openAt(server, d2), { ok: true, message: { t: 'ping', n: 1 }, seq: 2 });
    const back = server.seal(pong(1));
    const header = readHeader(back);
    assert.ok(header);
    assert.deepEqual(client.open(back, header), { ok: true, message: { t: 'pong', n: 1 }, seq: 1 });
  });

  test('a replayed datagram is dropped as replayed', () => {
    const { client, server } = pair();
    const d = client.seal(ping(1));
    assert.equal(openAt(server, d).ok, true);
    assert.deepEqual(openAt(server, d), { ok: false, reason: 'replayed' });
  });

  test('a forged datagram is dropped and does not move the replay window', () => {
    const { client, server } = pair();
    // Forged far ahead with a wrong key: if it moved the window, every real datagram would be "old".
    const forged = sealDatagram(randomBytes(32), sid, C2S, 1_000_000, Buffer.from('{"t":"hello"}'));
    assert.deepEqual(openAt(server, forged), { ok: false, reason: 'forged' });
    assert.equal(openAt(server, client.seal({ t: 'hello' })).ok, true);
  });

  test('authentic but malformed payloads are dropped as malformed', () => {
    const { server } = pair();
    let seq = 0;
    for (const payload of ['not json', '[]', '{"t":"bcast"}', '{"t":"ping","n":-1}', '{"t":"welcome"}']) {
      const d = sealDatagram(key, sid, C2S, ++seq, Buffer.from(payload));
      assert.deepEqual(openAt(server, d), { ok: false, reason: 'malformed' }, payload);
    }
  });

  test('out-of-order delivery within the window is accepted once each', () => {
    const { client, server } = pair();
    const ds = Array.from({ length: 10 }, (_, n) => client.seal(ping(n)));
    for (const i of [9, 3, 0, 5, 1, 2, 4, 8, 6, 7])
      assert.equal(openAt(server, nth(ds, i, 'datagram')).ok, true, `datagram ${i}`);
    for (const d of ds) assert.deepEqual(openAt(server, d), { ok: false, reason: 'replayed' });
  });
});
