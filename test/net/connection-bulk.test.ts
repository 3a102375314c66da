/**
 * The connection's two queues (PROTOCOL.md section 6.7, "Flow control and chat"): bulk frames
 * (file data) go to the stream only when no other frame waits, one per write, so a chat
 * frame overtakes every queued bulk frame but the one being written; sendBulk() pushes back
 * past FILE_BULK_HIGH_WATER_BYTES and 'bulk_drain' follows.
 */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { FramedConnection } from '../../src/net/connection.ts';
import { FILE_BULK_HIGH_WATER_BYTES, FILE_CHUNK_BYTES } from '../../src/net/constants.ts';
import { FrameDecoder } from '../../src/net/framing.ts';
import { decodeFileData, encodeFileData, isFileData } from '../../src/net/file-frame.ts';
import { peerMessages, type PeerMessage } from '../../src/net/messages.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * A stream that takes each write on the next turn of the loop, as a socket does, and keeps the
 * frames in order. `hold()` keeps the next writes from completing until `release()`: a socket
 * whose peer is slow, so a test decides what is "being written" instead of racing the loop.
 */
function recordingStream(): { stream: Duplex; frames: string[]; hold: () => void; release: () => void } {
  const frames: string[] = [];
  const decoder = new FrameDecoder();
  let held: Array<() => void> | null = null;
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      decoder.push(chunk, (payload) => {
        if (isFileData(payload)) {
          const d = decodeFileData(payload);
          frames.push(d instanceof Error ? 'bad' : `data@${d.offset}`);
        } else frames.push((JSON.parse(payload.toString()) as { t: string }).t);
      });
      if (held) held.push(() => done());
      else setImmediate(done);
    },
  });
  return {
    stream,
    frames,
    hold: () => void (held ??= []),
    release: () => {
      const waiting = held ?? [];
      held = null;
      for (const done of waiting) setImmediate(done);
    },
  };
}

test('a chat frame queued behind 20 bulk frames goes out after at most the one being written', async () => {
  const { stream, frames, hold, release } = recordingStream();
  const conn = new FramedConnection<typeof peerMessages, PeerMessage>(stream, peerMessages);
  const chunk = Buffer.alloc(FILE_CHUNK_BYTES, 7);
  // The first bulk frame is being written and the socket is slow: it does not complete yet.
  hold();
  for (let i = 0; i < 10; i++) conn.sendBulk(encodeFileData(1, i * FILE_CHUNK_BYTES, chunk));
  await waitFor(() => frames.length >= 1, { what: 'the first bulk frame written' });
  conn.send({ t: 'ping', n: 1 });
  for (let i = 10; i < 20; i++) conn.sendBulk(encodeFileData(1, i * FILE_CHUNK_BYTES, chunk));
  release();
  await waitFor(() => frames.length === 21, { what: 'all frames' });
  const at = frames.indexOf('ping');
  assert.ok(at >= 1 && at <= 2, `ping at ${at}: ${frames.join(' ')}`);
  // Bulk frames keep their own order.
  const offsets = frames.filter((f) => f !== 'ping');
  assert.deepEqual(
    offsets,
    Array.from({ length: 20 }, (_, i) => `data@${i * FILE_CHUNK_BYTES}`),
  );
  stream.destroy();
});

test('sendBulk says stop past the high-water mark; bulk_drain follows once half is written', async () => {
  const { stream, frames } = recordingStream();
  const conn = new FramedConnection<typeof peerMessages, PeerMessage>(stream, peerMessages);
  const frame = encodeFileData(1, 0, Buffer.alloc(FILE_CHUNK_BYTES));
  let accepted = 0;
  while (conn.sendBulk(frame)) accepted += 1;
  assert.ok(accepted * frame.length <= FILE_BULK_HIGH_WATER_BYTES, 'stopped at the mark');
  assert.ok((accepted + 1) * frame.length > FILE_BULK_HIGH_WATER_BYTES);
  let drained = false;
  conn.on('bulk_drain', () => (drained = true));
  await waitFor(() => drained, { what: 'bulk_drain' });
  assert.ok(conn.bulkPendingBytes <= FILE_BULK_HIGH_WATER_BYTES / 2);
  await waitFor(() => frames.length === accepted + 1, { what: 'everything written' });
  stream.destroy();
});

test('end(): queued bulk frames are dropped, a goodbye does not wait behind a file', async () => {
  const { stream, frames } = recordingStream();
  const conn = new FramedConnection<typeof peerMessages, PeerMessage>(stream, peerMessages);
  const frame = encodeFileData(1, 0, Buffer.alloc(FILE_CHUNK_BYTES));
  for (let i = 0; i < 10; i++) conn.sendBulk(frame);
  conn.end({ t: 'bye', reason: 'done' });
  await waitFor(() => frames.includes('bye'), { what: 'bye' });
  assert.ok(frames.filter((f) => f !== 'bye').length <= 1, frames.join(' '));
});
