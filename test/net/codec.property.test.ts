/**
 * Property tests for the decoder (fast-check): whatever bytes arrive, in whatever chunking,
 * the decoder never throws, and the messages it yields depend only on the bytes, never on
 * how they were split.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeMessage, MessageDecoder, type Decoded } from '../../src/net/codec.ts';
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from '../../src/net/constants.ts';
import { ErrorCode } from '../../src/net/errors.ts';
import { clientMessages } from '../../src/net/messages.ts';

const RUNS = 300;

/** Split `bytes` at the given offsets (any order, duplicates and out-of-range ignored). */
function chunk(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  out.push(bytes.subarray(start));
  return out;
}

/** What a decoder made of a stream, comparable across runs: messages and error codes in order. */
function summary(chunks: Buffer[]): { results: unknown[]; buffered: number } {
  const decoder = new MessageDecoder(clientMessages);
  const results: unknown[] = [];
  for (const c of chunks) {
    decoder.push(c, (r: Decoded<unknown>) => results.push(r.ok ? r.message : { code: r.error.code, fatal: r.fatal }));
  }
  return { results, buffered: decoder.bufferedBytes };
}

const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
const id = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const name = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/);
/** Plain objects (fast-check also makes null-prototype ones, which JSON.parse never returns). */
const rec = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(model, { noNullPrototype: true });
const message = fc.oneof(
  rec({ t: fc.constant('ping'), id }),
  rec({ t: fc.constant('list_users'), id }),
  rec({ t: fc.constant('logout'), id }),
  rec({ t: fc.constant('login'), id, proto: fc.integer({ min: 1, max: 65535 }), user: name, pass: text }),
  rec({ t: fc.constant('broadcast'), id, text }),
  rec({ t: fc.constant('connect_answer'), id, reqId: fc.stringMatching(/^[0-9a-f]{1,16}$/), accept: fc.boolean() }),
);
const messages = fc.array(message, { maxLength: 12 });
const cuts = fc.array(fc.nat(), { maxLength: 30 });

test('random bytes in random chunks: never throws, same result for every chunking', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), cuts, cuts, (raw, cutsA, cutsB) => {
      const bytes = Buffer.from(raw);
      const whole = summary([bytes]);
      assert.deepEqual(summary(chunk(bytes, cutsA)), whole);
      assert.deepEqual(summary(chunk(bytes, cutsB)), whole);
    }),
    { numRuns: RUNS },
  );
});

test('random bytes that look like small frames (short lengths): never throws, chunking-independent', () => {
  // Random bytes mostly start with a huge length; here every frame has a plausible one.
  const junkFrame = fc.uint8Array({ maxLength: 40 }).map((body) => {
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32BE(body.length, 0);
    return Buffer.concat([header, Buffer.from(body)]);
  });
  fc.assert(
    fc.property(fc.array(junkFrame, { maxLength: 10 }), cuts, (frames, cutPoints) => {
      const bytes = Buffer.concat(frames);
      const whole = summary([bytes]);
      assert.equal(whole.results.length, frames.length, 'one result per frame');
      assert.deepEqual(summary(chunk(bytes, cutPoints)), whole);
    }),
    { numRuns: RUNS },
  );
});

test('valid frame streams in random chunks yield exactly the messages sent', () => {
  fc.assert(
    fc.property(messages, cuts, (list, cutPoints) => {
      const bytes = Buffer.concat(list.map((m) => encodeMessage(m)));
      const { results, buffered } = summary(chunk(bytes, cutPoints));
      assert.deepEqual(results, list);
      assert.equal(buffered, 0);
    }),
    { numRuns: RUNS },
  );
});

test('one byte at a time gives the same messages as one chunk', () => {
  fc.assert(
    fc.property(messages, (list) => {
      const bytes = Buffer.concat(list.map((m) => encodeMessage(m)));
      const single = [...bytes].map((b) => Buffer.from([b]));
      assert.deepEqual(summary(single).results, list);
    }),
    { numRuns: 100 },
  );
});

test('a truncated stream yields the complete frames and holds the rest, without an error', () => {
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), fc.nat(), cuts, (list, cutAt, cutPoints) => {
      const frames = list.map((m) => encodeMessage(m));
      const bytes = Buffer.concat(frames);
      const length = cutAt % bytes.length; // strictly shorter than the whole stream
      let complete = 0;
      let end = 0;
      for (const f of frames) {
        if (end + f.length > length) break;
        end += f.length;
        complete += 1;
      }
      const { results, buffered } = summary(chunk(bytes.subarray(0, length), cutPoints));
      assert.deepEqual(results, list.slice(0, complete));
      assert.equal(buffered, length - end);
    }),
    { numRuns: RUNS },
  );
});

test('an oversized length after valid frames: those decode, then one fatal error, then nothing', () => {
  const oversized = fc.integer({ min: MAX_FRAME_BYTES + 1, max: 2 ** 32 - 1 });
  fc.assert(
    fc.property(
      messages,
      oversized,
      fc.uint8Array({ maxLength: 100 }),
      messages,
      cuts,
      (before, length, junk, after, cutPoints) => {
        const header = Buffer.alloc(FRAME_HEADER_BYTES);
        header.writeUInt32BE(length, 0);
        const bytes = Buffer.concat([
          ...before.map((m) => encodeMessage(m)),
          header,
          Buffer.from(junk),
          ...after.map((m) => encodeMessage(m)),
        ]);
        const { results, buffered } = summary(chunk(bytes, cutPoints));
        assert.deepEqual(results, [...before, { code: ErrorCode.FRAME_TOO_LARGE, fatal: true }]);
        assert.equal(buffered, 0);
      },
    ),
    { numRuns: RUNS },
  );
});

test('the decoder never holds more than one frame of input', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), cuts, (raw, cutPoints) => {
      const decoder = new MessageDecoder(clientMessages, 256);
      for (const c of chunk(Buffer.from(raw), cutPoints)) {
        decoder.push(c, () => {});
        assert.ok(decoder.bufferedBytes < FRAME_HEADER_BYTES + 256 + c.length);
      }
    }),
    { numRuns: RUNS },
  );
});
