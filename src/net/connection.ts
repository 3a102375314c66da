/**
 * A framed, typed message connection over any duplex byte stream (a TLS socket in practice,
 * an in-memory pair in some tests). Owns the decoder, write batching and backpressure; knows
 * nothing of sessions.
 */
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { FILE_BULK_HIGH_WATER_BYTES, OUTPUT_QUEUE_BYTES } from './constants.ts';
import { encodeMessage, MessageDecoder } from './codec.ts';
import type { MessageOf, MessageSet } from './messages.ts';
import type { ProtocolError } from './errors.ts';

/**
 * Largest chunk handed to the stream in one write. A TLS socket keeps the native buffers of
 * its largest write for as long as it lives (measured: 150 KB per connection after one
 * 100 KB write, 27 KB after small ones; docs/BENCHMARKS.md), so output is fed to it in
 * chunks of at most this, one at a time, instead of letting the stream batch everything
 * queued behind a slow write into one huge write.
 */
export const MAX_WRITE_BYTES = 16 * 1024;
const EMPTY = Buffer.alloc(0);

export interface ConnectionEvents<M> {
  message: [M];
  /** A frame that did not validate; `fatal` means the stream is unusable and will be closed. */
  invalid: [ProtocolError, boolean, number | undefined];
  drain: [];
  /** A binary payload (a file data frame, PROTOCOL.md 6.7); only with `binaryFrames`. Valid until the handler returns unless copied or kept whole. */
  binary: [Buffer];
  /** The bulk queue fell below half its high-water mark after sendBulk() returned false. */
  bulk_drain: [];
  close: [Error | undefined];
}

export interface FramedConnectionOptions {
  /** Hand payloads that start with FILE_DATA_TAG to 'binary' instead of parsing them as JSON. */
  binaryFrames?: boolean;
}

export class FramedConnection<In extends MessageSet, Out extends { t: string }> extends EventEmitter<
  ConnectionEvents<MessageOf<In>>
> {
  private readonly decoder: MessageDecoder<In>;
  /** Frames not yet handed to the stream, oldest first. */
  private readonly outbox: Buffer[] = [];
  private outboxBytes = 0;
  /**
   * Low-priority frames (file data, PROTOCOL.md 6.7): written only when `outbox` is empty, one
   * frame per write, so a chat frame waits behind at most one of them, not behind a file.
   */
  private readonly bulk: Buffer[] = [];
  private bulkHead = 0;
  private bulkBytes = 0;
  private bulkDrainOwed = false;
  /** A chunk is with the stream and its write callback has not run yet. */
  private writing = false;
  private pumpScheduled = false;
  private drainOwed = false;
  private endWhenFlushed = false;
  private closed = false;
  private closeError: Error | undefined;
  private readonly pumpNow = () => this.pump();

  constructor(
    readonly stream: Duplex,
    inbound: In,
    maxFrameBytes?: number,
    options: FramedConnectionOptions = {},
  ) {
    super();
    const binary = options.binaryFrames ? (payload: Buffer) => this.onBinary(payload) : undefined;
    this.decoder = new MessageDecoder(inbound, maxFrameBytes, binary);
    stream.on('data', this.onDataBound);
    stream.on('error', this.onErrorBound);
    stream.on('close', this.onCloseBound);
    stream.on('end', this.onEndBound); // the peer is done sending: finish ours, then close
  }

  private readonly onDataBound = (chunk: Buffer) => this.onData(chunk);
  private readonly onErrorBound = (err: Error) => {
    this.closeError ??= err;
  };
  private readonly onCloseBound = () => this.finish();
  private readonly onEndBound = () => this.end();

  /**
   * Stop framing and give the raw stream away (a relay half, PROTOCOL.md section 6.6): what
   * is queued is handed to the stream first, in order; the stream is paused so no byte is
   * lost before its new owner reads; 'close' fires now, so the owner of this connection
   * forgets it. Returns null if bytes past the last frame were already read (the peer broke
   * the rule to wait for the answer): they cannot be given back.
   */
  detach(): Duplex | null {
    if (!this.isOpen) return null;
    this.stream.pause();
    this.stream.off('data', this.onDataBound);
    this.stream.off('error', this.onErrorBound);
    this.stream.off('close', this.onCloseBound);
    this.stream.off('end', this.onEndBound);
    for (const frame of this.outbox.splice(0)) this.stream.write(frame);
    this.outboxBytes = 0;
    const clean = this.decoder.bufferedBytes === 0;
    this.finish();
    if (!clean) {
      this.stream.destroy();
      return null;
    }
    return this.stream;
  }

  get isOpen(): boolean {
    return !this.closed && !this.stream.destroyed;
  }

  /** send() returned false and 'drain' has not been emitted since. */
  get needsDrain(): boolean {
    return this.drainOwed;
  }

  /** Bytes queued for the peer that the kernel has not yet taken. */
  get pendingOutputBytes(): number {
    return this.outboxBytes + this.stream.writableLength;
  }

  /**
   * Queue a message. Frames queued in one tick go out together (one TLS record for many
   * small frames). Returns false when more than OUTPUT_QUEUE_BYTES.WRITE_HIGH_WATER is queued; 'drain'
   * follows once it has all been written.
   */
  send(message: Out): boolean {
    if (!this.isOpen) return false;
    return this.sendFrame(encodeMessage(message));
  }

  /** Send a frame encoded once for many recipients (presence, broadcasts). */
  sendFrame(frame: Buffer): boolean {
    if (!this.isOpen || this.endWhenFlushed) return false;
    this.outbox.push(frame);
    this.outboxBytes += frame.length;
    if (!this.writing && !this.pumpScheduled) {
      this.pumpScheduled = true;
      process.nextTick(this.pumpNow);
    }
    if (this.pendingOutputBytes <= OUTPUT_QUEUE_BYTES.WRITE_HIGH_WATER) return true;
    this.drainOwed = true;
    return false;
  }

  /** Bulk frames queued and not yet handed to the stream. */
  get bulkPendingBytes(): number {
    return this.bulkBytes;
  }

  /**
   * Queue a low-priority frame (already encoded). Returns false once more than
   * FILE_BULK_HIGH_WATER_BYTES of bulk is queued: wait for 'bulk_drain'.
   */
  sendBulk(frame: Buffer): boolean {
    if (!this.isOpen || this.endWhenFlushed) return false;
    this.bulk.push(frame);
    this.bulkBytes += frame.length;
    if (!this.writing && !this.pumpScheduled) {
      this.pumpScheduled = true;
      process.nextTick(this.pumpNow);
    }
    if (this.bulkBytes <= FILE_BULK_HIGH_WATER_BYTES) return true;
    this.bulkDrainOwed = true;
    return false;
  }

  /** Drop every bulk frame not yet handed to the stream. */
  private discardBulk(): void {
    this.bulk.length = 0;
    this.bulkHead = 0;
    this.bulkBytes = 0;
  }

  /** Send a last message, then close our side once everything queued is written. */
  end(message?: Out): void {
    if (!this.isOpen || this.endWhenFlushed) return;
    if (message) this.send(message);
    this.endWhenFlushed = true;
    this.discardBulk(); // a goodbye does not wait behind a file
    if (!this.writing && this.outbox.length === 0) this.stream.end();
    // A peer that never reads must not keep the socket (and its buffers) alive.
    const timer = setTimeout(() => this.stream.destroy(), 2_000);
    timer.unref();
  }

  /** Hand the stream the next chunk of at most MAX_WRITE_BYTES (at least one frame). */
  private pump(): void {
    this.pumpScheduled = false;
    if (this.writing || !this.isOpen) return;
    if (this.outbox.length === 0) {
      if (this.endWhenFlushed) this.stream.end();
      else if (this.drainOwed) {
        this.drainOwed = false;
        this.emit('drain');
      }
      if (this.bulkBytes > 0 && !this.endWhenFlushed) this.pumpBulk();
      return;
    }
    let count = 0;
    let bytes = 0;
    for (const frame of this.outbox) {
      if (count > 0 && bytes + frame.length > MAX_WRITE_BYTES) break;
      bytes += frame.length;
      count += 1;
    }
    const frames = this.outbox.splice(0, count);
    this.outboxBytes -= bytes;
    this.writing = true;
    this.stream.write(count === 1 ? frames[0] : Buffer.concat(frames, bytes), (err) => {
      this.writing = false;
      if (!err) this.pump();
    });
  }

  /** One bulk frame per write: a chat frame queued meanwhile goes next. */
  private pumpBulk(): void {
    const frame = this.bulk[this.bulkHead];
    if (frame === undefined) return;
    this.bulk[this.bulkHead] = EMPTY; // let the buffer go once written
    this.bulkHead += 1;
    if (this.bulkHead === this.bulk.length || this.bulkHead > 1024) {
      this.bulk.splice(0, this.bulkHead);
      this.bulkHead = 0;
    }
    this.bulkBytes -= frame.length;
    if (this.bulkDrainOwed && this.bulkBytes <= FILE_BULK_HIGH_WATER_BYTES / 2) {
      this.bulkDrainOwed = false;
      process.nextTick(() => this.emit('bulk_drain'));
    }
    this.writing = true;
    this.stream.write(frame, (err) => {
      this.writing = false;
      if (!err) this.pump();
    });
  }

  private onBinary(payload: Buffer): void {
    if (!this.closed) this.emit('binary', payload);
  }

  destroy(err?: Error): void {
    if (err) this.closeError ??= err;
    this.stream.destroy();
  }

  pause(): void {
    this.stream.pause();
  }
  resume(): void {
    this.stream.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.decoder.push(chunk, (result) => {
      if (this.closed) return;
      if (result.ok) this.emit('message', result.message);
      else {
        this.emit('invalid', result.error, result.fatal, result.re);
        if (result.fatal) {
          // The stream cannot be read further; what the listener queued (an error telling the
          // peer why) still goes out before we close.
          this.closeError ??= result.error;
          this.stream.pause();
          this.end();
        }
      }
    });
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', this.closeError);
    this.removeAllListeners();
  }
}
