/** The binary file data frame (PROTOCOL.md section 6.7): pure encode/decode, and its place in the decoder. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageDecoder } from '../../src/net/codec.ts';
import { FILE_CHUNK_BYTES, FRAME_HEADER_BYTES } from '../../src/net/constants.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { decodeFileData, encodeFileData, FILE_DATA_HEADER_BYTES, isFileData } from '../../src/net/file-frame.ts';
import { encodeMessage } from '../../src/net/codec.ts';
import { peerMessages } from '../../src/net/messages.ts';

test('a full data frame is exactly 16 KiB: one TLS record', () => {
  const frame = encodeFileData(7, 0, Buffer.alloc(FILE_CHUNK_BYTES, 1));
  assert.equal(frame.length, 16 * 1024);
});

test('round trip: fid, a 48-bit offset and the bytes come back; the bytes are a view', () => {
  const data = Buffer.from('hello file');
  const frame = encodeFileData(2 ** 31 - 1, 2 ** 48 - 1, data);
  assert.equal(frame.readUInt32BE(0), FILE_DATA_HEADER_BYTES + data.length);
  const payload = frame.subarray(FRAME_HEADER_BYTES);
  assert.ok(isFileData(payload));
  const decoded = decodeFileData(payload);
  assert.ok(!(decoded instanceof ProtocolError));
  assert.equal(decoded.fid, 2 ** 31 - 1);
  assert.equal(decoded.offset, 2 ** 48 - 1);
  assert.deepEqual(decoded.data, data);
  assert.equal(decoded.data.buffer, frame.buffer, 'no copy');
});

test('empty or oversized data is refused both ways', () => {
  assert.throws(() => encodeFileData(1, 0, Buffer.alloc(0)), RangeError);
  assert.throws(() => encodeFileData(1, 0, Buffer.alloc(FILE_CHUNK_BYTES + 1)), RangeError);
  const headerOnly = Buffer.alloc(FILE_DATA_HEADER_BYTES);
  const decoded = decodeFileData(headerOnly);
  assert.ok(decoded instanceof ProtocolError && decoded.code === ErrorCode.BAD_FRAME);
  const tooBig = Buffer.alloc(FILE_DATA_HEADER_BYTES + FILE_CHUNK_BYTES + 1);
  const big = decodeFileData(tooBig);
  assert.ok(big instanceof ProtocolError && big.code === ErrorCode.BAD_FRAME);
});

test('the decoder hands data frames to its binary sink, byte by byte, and JSON around them to the message sink', () => {
  const binary: Buffer[] = [];
  const messages: string[] = [];
  const decoder = new MessageDecoder(peerMessages, undefined, (p) => binary.push(Buffer.from(p)));
  const stream = Buffer.concat([
    encodeMessage({ t: 'file_start', fid: 1, offset: 0 }),
    encodeFileData(1, 0, Buffer.from('abc')),
    encodeMessage({ t: 'file_done', fid: 1 }),
  ]);
  for (const byte of stream) {
    decoder.push(Buffer.from([byte]), (r) => messages.push(r.ok ? r.message.t : r.error.code));
  }
  assert.deepEqual(messages, ['file_start', 'file_done']);
  assert.equal(binary.length, 1);
  const decoded = decodeFileData(binary[0] as Buffer);
  assert.ok(!(decoded instanceof ProtocolError));
  assert.equal(decoded.data.toString(), 'abc');
});

test('without a binary sink a data frame is an invalid frame (E_BAD_FRAME), as for any non-JSON payload', () => {
  const results: string[] = [];
  new MessageDecoder(peerMessages).push(encodeFileData(1, 0, Buffer.from('x')), (r) =>
    results.push(r.ok ? r.message.t : r.error.code),
  );
  assert.deepEqual(results, [ErrorCode.BAD_FRAME]);
});
