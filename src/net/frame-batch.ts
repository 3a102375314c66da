/**
 * Write batching for a busy link (the peer link, section 6.4): every message queued in one
 * tick is encoded straight into a shared slab and handed to the stream as one chunk when the
 * tick ends. Compared with one `write()` per frame this saves a Buffer per message (JSON is
 * written in place, the length header beside it) and the stream's per-write bookkeeping;
 * TLS then seals the whole batch into as few 16 KiB records as it can.
 */
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './constants.ts';
import { MAX_WRITE_BYTES } from './connection.ts';
import { ErrorCode, ProtocolError } from './errors.ts';

/** Slab size: a few hundred small frames. A flushed chunk keeps its slab alive until written. */
export const BATCH_SLAB_BYTES = 64 * 1024;
/** UTF-8 never needs more than 3 bytes per UTF-16 code unit. */
const MAX_UTF8_BYTES_PER_UNIT = 3;

export class FrameBatcher<Out extends { t: string }> {
  private slab = Buffer.allocUnsafe(BATCH_SLAB_BYTES);
  /** Start of the batch not yet handed to the stream, and the write position after it. */
  private start = 0;
  private end = 0;
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  /** `write` receives each batch; it must not reuse the chunk it is given. */
  constructor(
    private readonly write: (chunk: Buffer) => void,
    private readonly maxFrameBytes = MAX_FRAME_BYTES,
  ) {}

  /** Bytes encoded and not yet handed to the stream. */
  get pendingBytes(): number {
    return this.end - this.start;
  }

  /** Encode one message into the current batch; throws E_FRAME_TOO_LARGE and queues nothing. */
  add(message: Out): void {
    const json = JSON.stringify(message);
    const room = this.slab.length - this.end;
    // Count bytes only when the worst case does not fit: large messages (16 KiB chat text
    // would "need" 48 KiB) must not each open a fresh slab.
    if (room < FRAME_HEADER_BYTES + json.length * MAX_UTF8_BYTES_PER_UNIT) {
      const need = FRAME_HEADER_BYTES + Buffer.byteLength(json, 'utf8');
      if (room < need) this.nextSlab(need);
    }
    const written = this.slab.write(json, this.end + FRAME_HEADER_BYTES, 'utf8');
    if (written > this.maxFrameBytes) {
      throw new ProtocolError(ErrorCode.FRAME_TOO_LARGE, `frame of ${written} bytes exceeds ${this.maxFrameBytes}`);
    }
    this.slab.writeUInt32BE(written, this.end);
    this.end += FRAME_HEADER_BYTES + written;
    // Hand over a write's worth at a time: the connection writes a chunk whole, and a TLS
    // socket keeps the buffers of its largest write (MAX_WRITE_BYTES).
    if (this.pendingBytes >= MAX_WRITE_BYTES) return this.flush();
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushNow);
    }
  }

  /** Hand the batch to the stream now (also runs by itself at the end of the tick). */
  flush(): void {
    this.scheduled = false;
    if (this.end === this.start) return;
    const chunk = this.slab.subarray(this.start, this.end);
    this.start = this.end;
    this.write(chunk);
  }

  /** Drop anything not yet handed over (the link is gone). */
  discard(): void {
    this.start = this.end;
  }

  /**
   * Out of room: hand over what is batched (no copying of it into a bigger slab, which would
   * make a run of large messages quadratic), then carry on in a fresh slab.
   */
  private nextSlab(needBytes: number): void {
    this.flush();
    this.slab = Buffer.allocUnsafe(Math.max(BATCH_SLAB_BYTES, needBytes));
    this.start = 0;
    this.end = 0;
  }
}
