/**
 * The codec, without sockets (PROTOCOL.md section 2). Round trips are table-driven in the
 * style of mqtt-packet: each case names a message and the exact bytes it encodes to, and
 * both directions are checked. Every message type of every set has a case.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeMessage, MessageDecoder, parsePayload, validateMessage, type Decoded } from '../../src/net/codec.ts';
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from '../../src/net/constants.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { encodeFrame, FrameDecoder } from '../../src/net/framing.ts';
import {
  clientMessages,
  peerMessages,
  serverMessages,
  udpClientMessages,
  udpServerMessages,
  type MessageSet,
} from '../../src/net/messages.ts';
import { nth } from '../helpers/assert.ts';

/** The expected frame, built independently of the encoder: 4-byte big-endian length, then UTF-8 JSON. */
function frameOf(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

function decodeAll<S extends MessageSet>(set: S, bytes: Buffer[], maxFrameBytes?: number): Decoded<unknown>[] {
  const decoder = new MessageDecoder(set, maxFrameBytes);
  const out: Decoded<unknown>[] = [];
  for (const chunk of bytes) decoder.push(chunk, (r) => out.push(r));
  return out;
}

const SID = 'AAECAwQFBgc';
const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';
const SECRET = KEY;
const alice = { user: 'alice', ip: '127.0.0.1' };
const bob6 = { user: 'Bob.2', ip: '::1' };
const item = {
  bid: '0a1b',
  from: 'alice',
  text: 'hello 👋 world',
  createdAt: 1_700_000_000_000,
  expiresAt: 1_700_001_800_000,
};

type Wire = { t: string; [field: string]: unknown };
type Case = [name: string, message: Wire];
const enc = (message: Wire): Buffer => encodeMessage(message);

const cases: Record<string, { set: MessageSet; cases: Case[] }> = {
  client: {
    set: clientMessages,
    cases: [
      ['login', { t: 'login', id: 1, proto: 1, user: 'alice', pass: 'correct horse' }],
      ['login with peer port', { t: 'login', id: 2, proto: 1, user: 'alice', pass: 'p', peerPort: 5000 }],
      ['register', { t: 'register', id: 3, proto: 1, user: 'bob', pass: 'battery staple' }],
      ['ping', { t: 'ping', id: 0 }],
      ['list_users', { t: 'list_users', id: 2147483647 }],
      ['list_users page', { t: 'list_users', id: 1, offset: 500 }],
      ['logout', { t: 'logout', id: 9 }],
      ['connect by name', { t: 'connect', id: 10, user: 'bob' }],
      ['connect by ip', { t: 'connect', id: 11, ip: '10.0.0.2' }],
      ['connect_answer', { t: 'connect_answer', id: 12, reqId: 'ab12', accept: true }],
      ['connect_cancel', { t: 'connect_cancel', id: 13, reqId: 'ab12' }],
      ['relay_request', { t: 'relay_request', id: 15, reqId: 'ab12', token: 'AAECAwQFBgcICQoLDA0ODw' }],
      ['relay_open', { t: 'relay_open', id: 1, ticket: 'AAECAwQFBgcICQoLDA0ODw' }],
      ['broadcast', { t: 'broadcast', id: 14, text: 'to everyone: ünïcødé' }],
      ['broadcast_ack', { t: 'broadcast_ack', bids: ['01', 'ff'] }],
      ['passwd', { t: 'passwd', id: 15, old: 'correct horse', new: 'battery staple ✓' }],
      ['delete_account', { t: 'delete_account', id: 16, password: 'correct horse' }],
      ['away', { t: 'away', id: 17, reason: 'lunch 🍜, back at 2' }],
      ['away, no reason', { t: 'away', id: 18 }],
      ['back', { t: 'back', id: 19 }],
    ],
  },
  server: {
    set: serverMessages,
    cases: [
      ['hello', { t: 'hello', proto: 1, server: 'p2p-broadcast/0.1', loginTimeoutMs: 30000, keepaliveMs: 15000 }],
      [
        'welcome',
        {
          t: 'welcome',
          re: 1,
          user: 'alice',
          ip: '127.0.0.1',
          registered: true,
          serverTime: 1_700_000_000_000,
          udp: { port: 4400, sid: SID, key: KEY },
        },
      ],
      ['error', { t: 'error', re: 1, code: 'E_AUTH_FAILED', message: 'wrong username or password' }],
      [
        'error, rate limited',
        { t: 'error', code: 'E_RATE_LIMITED', message: 'wait', retryAfterMs: 1000, fatal: false },
      ],
      ['error, fatal', { t: 'error', code: 'E_SERVER_SHUTDOWN', message: 'bye', fatal: true }],
      ['ok', { t: 'ok', re: 5 }],
      ['pong', { t: 'pong', re: 6, serverTime: 0 }],
      ['user_list', { t: 'user_list', re: 7, users: [alice], offset: 0, total: 1 }],
      ['presence', { t: 'presence', joined: [alice], left: ['bob'] }],
      [
        'presence, away',
        {
          t: 'presence',
          joined: [
            { ...alice, away: 'lunch' },
            { ...alice, away: '' },
          ],
          left: [],
        },
      ],
      ['connect_ambiguous', { t: 'connect_ambiguous', re: 8, ip: '127.0.0.1', candidates: [alice] }],
      ['connect_pending', { t: 'connect_pending', re: 9, reqId: 'c0ffee', user: 'bob', ip: '::1', expiresInMs: 30000 }],
      ['connect_prompt', { t: 'connect_prompt', reqId: 'c0ffee', from: alice, expiresInMs: 30000 }],
      [
        'connect_result accepted',
        {
          t: 'connect_result',
          reqId: 'c0ffee',
          role: 'requester',
          outcome: 'accepted',
          reason: '',
          peer: bob6,
          port: 5001,
          secret: SECRET,
          relay: 'AAECAwQFBgcICQoLDA0ODw',
        },
      ],
      [
        'connect_result declined',
        { t: 'connect_result', reqId: 'c0ffee', role: 'target', outcome: 'declined', reason: 'no', peer: alice },
      ],
      ['relay_ticket', { t: 'relay_ticket', re: 11, ticket: 'AAECAwQFBgcICQoLDA0ODw', expiresInMs: 10000 }],
      ['relay_ready', { t: 'relay_ready', re: 1 }],
      ['broadcast_ok', { t: 'broadcast_ok', re: 10, bid: '0a1b', createdAt: 1, expiresAt: 2 }],
      ['broadcast', { t: 'broadcast', b: item }],
    ],
  },
  udpClient: {
    set: udpClientMessages,
    cases: [
      ['hello', { t: 'hello' }],
      ['ping', { t: 'ping', n: 9007199254740991 }],
      ['bcast_ack', { t: 'bcast_ack', bids: ['0a1b'] }],
    ],
  },
  udpServer: {
    set: udpServerMessages,
    cases: [
      ['welcome', { t: 'welcome' }],
      ['pong', { t: 'pong', n: 3 }],
      ['bcast', { t: 'bcast', b: item }],
    ],
  },
  peer: {
    set: peerMessages,
    cases: [
      ['hello', { t: 'hello', proto: 1, user: 'alice' }],
      ['msg', { t: 'msg', id: 1, text: 'hi\nthere', ts: 1_700_000_000_000 }],
      ['ack', { t: 'ack', upTo: 1 }],
      ['typing', { t: 'typing', on: false }],
      ['ping', { t: 'ping', n: 0 }],
      ['pong', { t: 'pong', n: 0 }],
      ['bye', { t: 'bye', reason: 'closed' }],
      ['error', { t: 'error', code: 'E_PEER_HANDSHAKE', message: 'bad key', ref: 4 }],
      ['file_offer', { t: 'file_offer', fid: 1, name: 'photo.jpg', size: 123_456, sha256: 'ab'.repeat(32) }],
      ['file_accept', { t: 'file_accept', fid: 1, offset: 4096, prefix: 'cd'.repeat(32) }],
      ['file_start', { t: 'file_start', fid: 1, offset: 0 }],
      ['file_ack', { t: 'file_ack', fid: 1, offset: 262_144 }],
      ['file_done', { t: 'file_done', fid: 1 }],
      ['file_cancel', { t: 'file_cancel', fid: 1, code: 'E_FILE_CANCELLED', reason: 'cancelled' }],
      ['file_refuse', { t: 'file_refuse', fid: 1, code: 'E_FILE_DECLINED', reason: 'declined' }],
    ],
  },
};

/** testParseGenerate: message -> exact bytes -> the same message. */
function testParseGenerate(set: MessageSet, name: string, message: Wire): void {
  test(`round trip: ${name}`, () => {
    const expected = frameOf(JSON.stringify(message));
    const encoded = encodeMessage(message);
    assert.deepEqual(encoded, expected);
    const results = decodeAll(set, [expected]);
    assert.equal(results.length, 1);
    assert.deepEqual(results[0], { ok: true, message });
  });
}

/** testParseError: bytes -> exactly one error with this code. */
function testParseError(
  set: MessageSet,
  name: string,
  bytes: Buffer,
  code: string,
  fatal = false,
  messageIncludes?: string,
): void {
  test(`decode error: ${name}`, () => {
    const results = decodeAll(set, [bytes]);
    assert.equal(results.length, 1, JSON.stringify(results));
    const result = nth(results, 0, 'result');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.ok(result.error instanceof ProtocolError);
    assert.equal(result.error.code, code);
    assert.equal(result.fatal, fatal);
    if (messageIncludes) assert.ok(result.error.message.includes(messageIncludes), result.error.message);
  });
}

for (const [setName, { set, cases: list }] of Object.entries(cases)) {
  describe(`${setName} messages`, () => {
    test('every message type has a round-trip case', () => {
      const covered = new Set(list.map(([, m]) => m.t));
      assert.deepEqual([...covered].sort(), Object.keys(set).sort());
    });
    for (const [name, message] of list) testParseGenerate(set, name, message);
  });
}

describe('decode errors', () => {
  testParseError(
    clientMessages,
    'unknown type',
    frameOf('{"t":"launch_missiles","id":1}'),
    ErrorCode.UNKNOWN_TYPE,
    false,
    'launch_missiles',
  );
  testParseError(clientMessages, 'type of another direction', frameOf('{"t":"welcome"}'), ErrorCode.UNKNOWN_TYPE);
  testParseError(clientMessages, 'inherited type name', frameOf('{"t":"toString","id":1}'), ErrorCode.UNKNOWN_TYPE);
  testParseError(clientMessages, 'type not a string', frameOf('{"t":7}'), ErrorCode.UNKNOWN_TYPE);
  testParseError(clientMessages, 'no type', frameOf('{"id":1}'), ErrorCode.UNKNOWN_TYPE);
  testParseError(clientMessages, 'bad JSON', frameOf('{"t":"ping",'), ErrorCode.BAD_FRAME);
  testParseError(clientMessages, 'not UTF-8 JSON', frameOf('\u0000\u00ff'), ErrorCode.BAD_FRAME);
  testParseError(clientMessages, 'empty payload', frameOf(''), ErrorCode.BAD_FRAME);
  testParseError(clientMessages, 'JSON array', frameOf('[1,2]'), ErrorCode.BAD_FRAME);
  testParseError(clientMessages, 'JSON null', frameOf('null'), ErrorCode.BAD_FRAME);
  testParseError(clientMessages, 'JSON string', frameOf('"ping"'), ErrorCode.BAD_FRAME);
  testParseError(clientMessages, 'missing field', frameOf('{"t":"ping"}'), ErrorCode.BAD_MESSAGE, false, 'id');
  testParseError(
    clientMessages,
    'wrong field type',
    frameOf('{"t":"ping","id":"1"}'),
    ErrorCode.BAD_MESSAGE,
    false,
    'id',
  );
  testParseError(clientMessages, 'fractional id', frameOf('{"t":"ping","id":1.5}'), ErrorCode.BAD_MESSAGE);
  // Section 6.7: a file offer's hash is 64 lowercase hex digits; its name is well-formed Unicode.
  testParseError(
    peerMessages,
    'file_offer with an upper-case hash',
    frameOf(JSON.stringify({ t: 'file_offer', fid: 1, name: 'a', size: 1, sha256: 'AB'.repeat(32) })),
    ErrorCode.BAD_MESSAGE,
  );
  testParseError(
    peerMessages,
    'file_offer with a lone surrogate in the name',
    frameOf(JSON.stringify({ t: 'file_offer', fid: 1, name: '\ud800', size: 1, sha256: 'ab'.repeat(32) })),
    ErrorCode.BAD_MESSAGE,
  );
  testParseError(
    peerMessages,
    'file_accept with a negative offset',
    frameOf(JSON.stringify({ t: 'file_accept', fid: 1, offset: -1 })),
    ErrorCode.BAD_MESSAGE,
  );
  testParseError(clientMessages, 'negative id', frameOf('{"t":"ping","id":-1}'), ErrorCode.BAD_MESSAGE);
  testParseError(clientMessages, 'id over the limit', frameOf('{"t":"ping","id":2147483648}'), ErrorCode.BAD_MESSAGE);
  testParseError(
    clientMessages,
    'empty password',
    frameOf('{"t":"login","id":1,"proto":1,"user":"a","pass":""}'),
    ErrorCode.BAD_MESSAGE,
    false,
    'pass',
  );
  testParseError(
    clientMessages,
    'password over 1024 bytes',
    frameOf(JSON.stringify({ t: 'login', id: 1, proto: 1, user: 'a', pass: 'é'.repeat(513) })),
    ErrorCode.BAD_MESSAGE,
    false,
    'pass',
  );
  testParseError(
    clientMessages,
    'peer port 0',
    frameOf('{"t":"login","id":1,"proto":1,"user":"a","pass":"b","peerPort":0}'),
    ErrorCode.BAD_MESSAGE,
  );
  testParseError(
    clientMessages,
    'broadcast text empty',
    frameOf('{"t":"broadcast","id":1,"text":""}'),
    ErrorCode.BAD_MESSAGE,
  );
  testParseError(
    clientMessages,
    'too many acks',
    frameOf(JSON.stringify({ t: 'broadcast_ack', bids: Array.from({ length: 257 }, () => 'a') })),
    ErrorCode.BAD_MESSAGE,
    false,
    'more than 256',
  );
  testParseError(
    serverMessages,
    'bad nested field',
    frameOf(JSON.stringify({ t: 'presence', joined: [{ user: 'a', ip: 'x y' }], left: [] })),
    ErrorCode.BAD_MESSAGE,
    false,
    'joined[0].ip',
  );
  testParseError(
    serverMessages,
    'error code not E_*',
    frameOf('{"t":"error","code":"boom","message":""}'),
    ErrorCode.BAD_MESSAGE,
    false,
    'code',
  );

  test('decode error: length over MAX_FRAME_BYTES is fatal before the payload arrives', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    const results = decodeAll(clientMessages, [header]);
    assert.equal(results.length, 1);
    const r = nth(results, 0, 'result');
    assert.ok(!r.ok && r.fatal && r.error.code === ErrorCode.FRAME_TOO_LARGE);
  });

  test('decode error: a failed decoder ignores everything after the oversized length', () => {
    const decoder = new MessageDecoder(clientMessages);
    const out: Decoded<unknown>[] = [];
    decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]), (r) => out.push(r));
    decoder.push(enc({ t: 'ping', id: 1 }), (r) => out.push(r));
    assert.equal(out.length, 1);
    assert.equal(decoder.bufferedBytes, 0);
  });

  test('errors do not stop the stream: good frames around bad ones still decode', () => {
    const bytes = Buffer.concat([
      enc({ t: 'ping', id: 1 }),
      frameOf('nonsense'),
      frameOf('{"t":"nope"}'),
      frameOf('{"t":"ping","id":"x"}'),
      enc({ t: 'ping', id: 2 }),
    ]);
    const results = decodeAll(clientMessages, [bytes]);
    assert.deepEqual(
      results.map((r) => (r.ok ? (r.message as { id: number }).id : r.error.code)),
      [1, ErrorCode.BAD_FRAME, ErrorCode.UNKNOWN_TYPE, ErrorCode.BAD_MESSAGE, 2],
    );
  });
});

describe('validation', () => {
  test('unknown fields are dropped, so nothing unvalidated reaches a handler', () => {
    const result = parsePayload(
      clientMessages,
      Buffer.from('{"t":"ping","id":1,"extra":{"x":1},"__proto__":{"admin":true}}'),
    );
    assert.ok(result.ok);
    assert.deepEqual(Object.keys(result.message), ['t', 'id']);
    assert.equal((result.message as Record<string, unknown>).admin, undefined);
    assert.equal(({} as Record<string, unknown>).admin, undefined);
  });

  test('inherited properties do not count as fields', () => {
    const value: unknown = Object.create({ t: 'ping', id: 1 });
    const result = validateMessage(clientMessages, value);
    assert.ok(!result.ok);
  });

  test('validateMessage never throws on odd values', () => {
    for (const value of [
      undefined,
      null,
      0,
      'x',
      [],
      () => 1,
      Symbol('s'),
      { t: Symbol('t') },
      { t: 'ping', id: 10n },
    ]) {
      const result = validateMessage(clientMessages, value);
      assert.equal(result.ok, false);
    }
  });
});

describe('framing', () => {
  test('a frame of exactly MAX_FRAME_BYTES is accepted; one byte more is refused', () => {
    const max = Buffer.alloc(MAX_FRAME_BYTES, 0x61);
    const frames: Buffer[] = [];
    const decoder = new FrameDecoder();
    assert.equal(
      decoder.push(encodeFrame(max), (f) => frames.push(f)),
      null,
    );
    assert.equal(frames.length, 1);
    assert.equal(nth(frames, 0, 'frame').length, MAX_FRAME_BYTES);
    assert.throws(
      () => encodeFrame(Buffer.alloc(MAX_FRAME_BYTES + 1)),
      (err: ProtocolError) => err.code === ErrorCode.FRAME_TOO_LARGE,
    );
  });

  test('encodeMessage refuses a message over the limit', () => {
    assert.throws(
      () => enc({ t: 'broadcast', text: 'x'.repeat(MAX_FRAME_BYTES) }),
      (err: ProtocolError) => err.code === ErrorCode.FRAME_TOO_LARGE,
    );
  });

  test('a custom limit applies to both sides', () => {
    const decoder = new FrameDecoder(8);
    assert.equal(
      decoder.push(encodeFrame(Buffer.alloc(8)), () => {}),
      null,
    );
    const failure = decoder.push(encodeFrame(Buffer.alloc(9), 9), () => {});
    assert.equal(failure?.code, ErrorCode.FRAME_TOO_LARGE);
    assert.equal(decoder.failed, failure);
  });

  test('zero-length frames and empty chunks', () => {
    const frames: Buffer[] = [];
    const decoder = new FrameDecoder();
    decoder.push(Buffer.alloc(0), (f) => frames.push(f));
    decoder.push(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]), (f) => frames.push(f));
    assert.deepEqual(frames, [Buffer.alloc(0), Buffer.alloc(0)]);
    assert.equal(decoder.bufferedBytes, 0);
  });

  test('the length is checked before any of the payload is buffered', () => {
    const decoder = new FrameDecoder();
    const failure = decoder.push(Buffer.from([0x7f, 0xff, 0xff, 0xff]), () => {});
    assert.equal(failure?.code, ErrorCode.FRAME_TOO_LARGE);
    assert.equal(decoder.bufferedBytes, 0);
  });
});

describe('byte-at-a-time input', () => {
  const stream: Wire[] = [
    { t: 'login', id: 1, proto: 1, user: 'alice', pass: 'pässwörd 🔑' },
    { t: 'ping', id: 2 },
    { t: 'broadcast', id: 3, text: '日本語のテキスト' },
    { t: 'logout', id: 4 },
  ];
  const bytes = Buffer.concat(stream.map((m) => encodeMessage(m)));

  test('every message comes out once, at the byte that completes it', () => {
    const decoder = new MessageDecoder(clientMessages);
    const out: unknown[] = [];
    const completedAt: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      decoder.push(bytes.subarray(i, i + 1), (r) => {
        assert.ok(r.ok, !r.ok ? r.error.message : '');
        out.push(r.message);
        completedAt.push(i + 1);
      });
    }
    assert.deepEqual(out, stream);
    let end = 0;
    const boundaries = stream.map((m) => (end += encodeMessage(m).length));
    assert.deepEqual(completedAt, boundaries);
    assert.equal(decoder.bufferedBytes, 0);
  });

  test('a multi-byte character split across chunks survives', () => {
    const one = enc({ t: 'broadcast', id: 1, text: '€' });
    const cut = one.indexOf(Buffer.from('€')) + 1; // inside the 3-byte sequence
    const results = decodeAll(clientMessages, [one.subarray(0, cut), one.subarray(cut)]);
    assert.deepEqual(results, [{ ok: true, message: { t: 'broadcast', id: 1, text: '€' } }]);
  });

  test('an oversized length fed byte by byte fails at its fourth byte', () => {
    const decoder = new MessageDecoder(clientMessages);
    const seen: number[] = [];
    const header = [0x00, 0x01, 0x00, 0x01]; // 65537
    header.forEach((b, i) => decoder.push(Buffer.from([b]), () => seen.push(i)));
    assert.deepEqual(seen, [3]);
  });
});
