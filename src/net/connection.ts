/**
 * A framed, typed message connection over any duplex byte stream (a TLS socket in practice,
 * an in-memory pair in some tests). Owns the decoder, write batching and backpressure; knows
 * nothing of sessions.
 */
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { encodeMessage, MessageDecoder } from './codec.ts';
import type { MessageOf, MessageSet } from './messages.ts';
import type { ProtocolError } from './errors.ts';

/**
 * Flush a corked batch once it holds this much. Measured: a TLS socket keeps native buffers
 * sized by its largest write for as long as it lives, so unbounded batches cost every idle
 * connection memory (docs/BENCHMARKS.md, "memory per idle session").
 */
export const MAX_CORKED_BYTES = 16 * 1024;

export interface ConnectionEvents<M> {
  message: [M];
  /** A frame that did not validate; `fatal` means the stream is unusable and will be closed. */
  invalid: [ProtocolError, boolean];
  drain: [];
  close: [Error | undefined];
}

export class FramedConnection<In extends MessageSet, Out extends { t: string }> extends EventEmitter<
  ConnectionEvents<MessageOf<In>>
> {
  private readonly decoder: MessageDecoder<In>;
  private corked = false;
  private corkedBytes = 0;
  private closed = false;
  private closeError: Error | undefined;

  constructor(readonly stream: Duplex, inbound: In, maxFrameBytes?: number) {
    super();
    this.decoder = new MessageDecoder(inbound, maxFrameBytes);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('drain', () => this.emit('drain'));
    stream.on('error', (err) => {
      this.closeError ??= err;
    });
    stream.on('close', () => this.finish());
    stream.on('end', () => stream.end());
  }

  get isOpen(): boolean {
    return !this.closed && !this.stream.destroyed;
  }

  /** Bytes queued for the peer that the kernel has not yet taken. */
  get pendingOutputBytes(): number {
    return this.stream.writableLength;
  }

  /**
   * Queue a message. Writes in one tick are corked into one flush (one TLS record for many
   * small frames). Returns false when the stream's buffer is over its high-water mark.
   */
  send(message: Out): boolean {
    if (!this.isOpen) return false;
    return this.sendFrame(encodeMessage(message));
  }

  /** Send a frame encoded once for many recipients (presence, broadcasts). */
  sendFrame(frame: Buffer): boolean {
    if (!this.isOpen) return false;
    if (this.corkedBytes >= MAX_CORKED_BYTES) this.flush();
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => this.flush());
    }
    this.corkedBytes += frame.length;
    return this.stream.write(frame);
  }

  private flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.corkedBytes = 0;
    this.stream.uncork();
  }

  /** Send a last message, then close our side once it is flushed. */
  end(message?: Out): void {
    if (!this.isOpen) return;
    if (message) this.send(message);
    this.stream.end();
    // A peer that never reads must not keep the socket (and its buffers) alive.
    const timer = setTimeout(() => this.stream.destroy(), 2_000);
    timer.unref();
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
        this.emit('invalid', result.error, result.fatal);
        if (result.fatal) this.destroy(result.error);
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
