/**
 * The sending half of file transfer (PROTOCOL.md section 6.7): hash and offer, the receiver's
 * answer (checked against our own prefix when it resumes), then the file read from disk in
 * FILE_CHUNK_BYTES data frames, paced by the link's bulk queue (behind every chat frame) and
 * by the receiver's window of FILE_WINDOW_BYTES.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { FILE_CHUNK_BYTES, FILE_WINDOW_BYTES, MAX_FILE_OFFERS_PER_LINK } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { encodeFileData } from '../../net/file-frame.ts';
import type { FileControl } from '../peer/link.ts';
import { peerError, type LinkFiles, type Outgoing, type TransferBook } from './book.ts';
import { hashPrefix } from './partial.ts';
import { safeFileName } from './safe-name.ts';
import { isFinal, TransferState, type Transfer } from './transfer.ts';

/** Bytes read from disk at a time (sliced into FILE_CHUNK_BYTES frames). */
const FILE_READ_BYTES = 16 * FILE_CHUNK_BYTES;

type Msg<T extends FileControl['t']> = Extract<FileControl, { t: T }>;

export class FileSender {
  constructor(private readonly book: TransferBook) {}

  /** Hash the file (state `hashing`), then offer it on `lf`. Throws E_FILE_IO, E_FILE_BUSY. */
  async send(lf: LinkFiles, path: string): Promise<Transfer> {
    const open = [...lf.out.values()].filter((o) => !isFinal(o.t.state)).length;
    if (open >= MAX_FILE_OFFERS_PER_LINK) {
      throw new ProtocolError(ErrorCode.FILE_BUSY, `at most ${MAX_FILE_OFFERS_PER_LINK} files can wait on one chat`);
    }
    let size: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new ProtocolError(ErrorCode.FILE_IO, `${path} is not a regular file`);
      size = info.size;
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      throw new ProtocolError(ErrorCode.FILE_IO, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    const t = this.book.newTransfer('send', lf.link.peerUser, safeFileName(basename(path)), size, '');
    t.state = TransferState.HASHING;
    const o: Outgoing = { t, path, on: lf, fid: 0, reader: null, sent: 0, acked: 0 };
    this.book.add(o);
    try {
      t.sha256 = (await hashPrefix(path, size)).digest('hex');
    } catch (err) {
      const error = new ProtocolError(ErrorCode.FILE_IO, `cannot read ${path}: ${(err as Error).message}`);
      this.book.finish(t, TransferState.FAILED, error);
      return t;
    }
    if (t.state !== TransferState.HASHING) return t; // cancelled meanwhile
    if (!lf.link.isOpen) this.book.setState(t, TransferState.INTERRUPTED);
    else this.offer(lf, o);
    return t;
  }

  /** Offer on `lf`: a new file, or one interrupted on an earlier link (resume). */
  offer(lf: LinkFiles, o: Outgoing): void {
    o.fid = lf.nextFid++;
    o.on = lf;
    lf.out.set(o.fid, o);
    o.t.bytesDone = 0;
    this.book.setState(o.t, TransferState.OFFERED);
    lf.link.sendFileControl({ t: 'file_offer', fid: o.fid, name: o.t.name, size: o.t.size, sha256: o.t.sha256 });
  }

  /** The receiver said yes, from `offset` (checked against our own prefix). */
  async onAccept(lf: LinkFiles, m: Msg<'file_accept'>): Promise<void> {
    const o = lf.out.get(m.fid);
    if (!o || o.t.state !== TransferState.OFFERED) return;
    if (m.offset > o.t.size) {
      const error = new ProtocolError(ErrorCode.BAD_MESSAGE, 'the receiver asked for an offset past the end');
      lf.link.sendFileControl({ t: 'file_cancel', fid: m.fid, code: error.code, reason: error.message });
      this.book.finish(o.t, TransferState.FAILED, error);
      return;
    }
    this.book.setState(o.t, TransferState.ACTIVE);
    let start = 0;
    if (m.offset > 0 && m.prefix) {
      // Resume only onto the same bytes: otherwise send it all again (the receiver truncates).
      const ours = await hashPrefix(o.path, m.offset).then(
        (h) => h.digest('hex'),
        () => '',
      );
      if (ours === m.prefix) start = m.offset;
    }
    if (o.on !== lf || (o.t.state as TransferState) !== TransferState.ACTIVE) return; // cancelled or cut meanwhile
    lf.link.sendFileControl({ t: 'file_start', fid: m.fid, offset: start });
    this.book.beginRun(o.t, start);
    this.startReading(o, lf, start);
  }

  onAck(lf: LinkFiles, m: Msg<'file_ack'>): void {
    const o = lf.out.get(m.fid);
    if (!o || m.offset > o.sent || m.offset <= o.acked) return;
    o.acked = m.offset;
    this.resume(o);
  }

  onDone(lf: LinkFiles, m: Msg<'file_done'>): void {
    const o = lf.out.get(m.fid);
    if (o && (o.t.state === TransferState.VERIFYING || o.t.state === TransferState.ACTIVE)) {
      this.book.finish(o.t, TransferState.DONE, null);
    }
  }

  onRefuse(lf: LinkFiles, m: Msg<'file_refuse'>): void {
    const o = lf.out.get(m.fid);
    if (!o || isFinal(o.t.state)) return;
    o.reader?.destroy();
    const error = peerError(m, ErrorCode.FILE_CANCELLED);
    const state =
      error.code === ErrorCode.FILE_DECLINED || error.code === ErrorCode.FILE_TOO_LARGE
        ? TransferState.DECLINED
        : error.code === ErrorCode.FILE_CANCELLED
          ? TransferState.CANCELLED
          : TransferState.FAILED;
    this.book.finish(o.t, state, error);
  }

  /** Our user cancelled: stop reading and tell the receiver (what is queued still goes; it drops it). */
  cancel(o: Outgoing, error: ProtocolError): void {
    o.reader?.destroy();
    if (o.fid > 0) o.on?.link.sendFileControl({ t: 'file_cancel', fid: o.fid, code: error.code, reason: 'cancelled' });
    this.book.finish(o.t, TransferState.CANCELLED, error);
  }

  /** The link dropped: offered again to the same user on the next link (resume). */
  interrupted(o: Outgoing): void {
    o.on = null;
    o.reader?.destroy();
    o.reader = null;
    if (!isFinal(o.t.state) && o.t.state !== TransferState.HASHING) this.book.setState(o.t, TransferState.INTERRUPTED);
  }

  /** Room again in the link's bulk queue or the receiver's window. */
  resume(o: Outgoing): void {
    if (o.t.state !== TransferState.ACTIVE || !o.reader || !o.on?.link.isOpen) return;
    if (o.sent - o.acked < FILE_WINDOW_BYTES) o.reader.resume();
  }

  private startReading(o: Outgoing, lf: LinkFiles, start: number): void {
    const { t } = o;
    if (start === t.size) {
      this.book.setState(t, TransferState.VERIFYING);
      return;
    }
    const reader = createReadStream(o.path, { start, end: t.size - 1, highWaterMark: FILE_READ_BYTES });
    o.reader = reader;
    let offset = start;
    o.sent = start;
    o.acked = start;
    reader.on('data', (chunk) => {
      const buf = chunk as Buffer;
      let ok = true;
      for (let p = 0; p < buf.length; p += FILE_CHUNK_BYTES) {
        const piece = buf.subarray(p, p + FILE_CHUNK_BYTES);
        ok = lf.link.sendFileData(encodeFileData(o.fid, offset, piece));
        offset += piece.length;
      }
      t.bytesDone = offset;
      o.sent = offset;
      this.book.progress(t);
      // Paced by the link's bulk queue and the receiver's window: resumed on file_drain or
      // file_ack (or destroyed when the link closes).
      if (!ok || o.sent - o.acked >= FILE_WINDOW_BYTES) reader.pause();
    });
    reader.on('end', () => {
      if (o.reader !== reader || t.state !== TransferState.ACTIVE) return;
      o.reader = null;
      if (offset < t.size) {
        const error = new ProtocolError(ErrorCode.FILE_SIZE_MISMATCH, `${o.path} got shorter while it was sent`);
        lf.link.sendFileControl({ t: 'file_cancel', fid: o.fid, code: error.code, reason: error.message });
        this.book.finish(t, TransferState.FAILED, error);
        return;
      }
      this.book.progress(t, true);
      this.book.setState(t, TransferState.VERIFYING);
    });
    reader.on('error', (err) => {
      if (o.reader !== reader || isFinal(t.state)) return;
      const error = new ProtocolError(ErrorCode.FILE_IO, `cannot read ${o.path}: ${err.message}`);
      lf.link.sendFileControl({ t: 'file_cancel', fid: o.fid, code: error.code, reason: error.message });
      this.book.finish(t, TransferState.FAILED, error);
    });
  }
}
