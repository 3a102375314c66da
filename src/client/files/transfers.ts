/**
 * File transfer over peer links (PROTOCOL.md section 6.7), headless: offers and answers,
 * the sender's reader (paced by the link's bulk queue, behind every chat frame), the
 * receiver's checks (size, offsets, SHA-256), resume after a dropped link. Views listen to
 * `offer`, `update` and `progress` and call send/accept/decline/cancel.
 *
 * Usage: `const files = new FileTransfers({ downloadDir }); peers.on('session', (l) => files.attach(l));`
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  DEFAULT_MAX_FILE_BYTES,
  FILE_ACK_EVERY_BYTES,
  FILE_CHUNK_BYTES,
  FILE_WINDOW_BYTES,
  FILE_WRITE_BACKLOG_BYTES,
  MAX_FILE_OFFERS_PER_LINK,
} from '../../net/constants.ts';
import { ErrorCode, isErrorCode, ProtocolError } from '../../net/errors.ts';
import { encodeFileData, type FileData } from '../../net/file-frame.ts';
import { sameUser } from '../../net/names.ts';
import { sanitizeLine } from '../../net/sanitize.ts';
import type { FileControl, PeerLink } from '../peer/link.ts';
import { Emitter } from '../../util/emitter.ts';
import { hashPrefix, PartialFile } from './partial.ts';
import { safeFileName } from './safe-name.ts';
import { isFinal, TransferState, type Transfer } from './transfer.ts';

export { TransferState, type Transfer } from './transfer.ts';

/** What the transfers use of a peer link. */
export type FileLink = Pick<
  PeerLink,
  'reqId' | 'peerUser' | 'isOpen' | 'sendFileControl' | 'sendFileData' | 'pauseReading' | 'resumeReading' | 'on'
>;

export interface FileTransfersOptions {
  downloadDir: string;
  /** Offers over this many bytes are refused with E_FILE_TOO_LARGE (`--max-file-size`). */
  maxFileBytes?: number;
  now?: () => number;
  /** At most one `progress` event per transfer per this many ms. */
  progressIntervalMs?: number;
}

export interface FileTransfersEvents {
  /** A peer offers a file: answer with accept(id) or decline(id). */
  offer: [Transfer];
  /** A transfer changed state. */
  update: [Transfer];
  /** Bytes moved (at most every progressIntervalMs per transfer). */
  progress: [Transfer];
}

/** Bytes the sender reads from disk at a time (sliced into FILE_CHUNK_BYTES frames). */
const FILE_READ_BYTES = 16 * FILE_CHUNK_BYTES;
const PROGRESS_INTERVAL_MS = 250;
/** Finished transfers remembered for /transfers. */
const MAX_FINISHED_KEPT = 100;

interface LinkFiles {
  link: FileLink;
  out: Map<number, Outgoing>;
  in: Map<number, Incoming>;
  nextFid: number;
}

interface Outgoing {
  t: Transfer;
  path: string;
  on: LinkFiles | null;
  fid: number;
  reader: ReadStream | null;
  /** Bytes handed to the link, and the receiver's last file_ack: at most FILE_WINDOW_BYTES apart. */
  sent: number;
  acked: number;
}

interface Incoming {
  t: Transfer;
  on: LinkFiles | null;
  fid: number;
  /** The name as offered, unsanitised: resume matches on it exactly. */
  offeredName: string;
  partial: PartialFile | null;
  /** The offset our file_accept named, once sent. */
  acceptedOffset: number | null;
  paused: boolean;
  /** The offset of our last file_ack. */
  ackedAt: number;
  /** The part being closed after a dropped link: a resume waits for it. */
  kept: Promise<void> | null;
}

type Entry = Outgoing | Incoming;
const isOutgoing = (e: Entry): e is Outgoing => e.t.direction === 'send';

export class FileTransfers extends Emitter<FileTransfersEvents> {
  readonly downloadDir: string;
  readonly maxFileBytes: number;
  private readonly now: () => number;
  private readonly progressIntervalMs: number;
  private nextId = 1;
  private readonly entries = new Map<number, Entry>();
  private readonly links = new Map<FileLink, LinkFiles>();
  private readonly lastProgress = new Map<number, number>();

  constructor(options: FileTransfersOptions) {
    super();
    this.downloadDir = options.downloadDir;
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.now = options.now ?? Date.now;
    this.progressIntervalMs = options.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
  }

  /** Every transfer this client knows, oldest first. */
  list(): Transfer[] {
    return [...this.entries.values()].map((e) => e.t);
  }

  get(id: number): Transfer | undefined {
    return this.entries.get(id)?.t;
  }

  /** Follow a peer link; files interrupted with the same user are offered again (resume). */
  attach(link: FileLink): void {
    if (this.links.has(link)) return;
    const lf: LinkFiles = { link, out: new Map(), in: new Map(), nextFid: 1 };
    this.links.set(link, lf);
    link.on('file', (m) => this.onControl(lf, m));
    link.on('file_data', (d) => this.onData(lf, d));
    link.on('file_drain', () => {
      for (const o of lf.out.values()) this.resumeReading(o);
    });
    link.on('close', () => this.onLinkClosed(lf));
    for (const e of this.entries.values()) {
      if (isOutgoing(e) && e.t.state === TransferState.INTERRUPTED && sameUser(e.t.peerUser, link.peerUser)) {
        this.offer(lf, e);
      }
    }
  }

  /** Offer a file on `link`: hashes it (state `hashing`), then sends the offer. Throws E_FILE_IO, E_FILE_BUSY. */
  async send(link: FileLink, path: string): Promise<Transfer> {
    const lf = this.links.get(link);
    if (!lf || !link.isOpen) throw new ProtocolError(ErrorCode.DISCONNECTED, 'the peer link is not open');
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
    const t = this.newTransfer('send', link.peerUser, safeFileName(basename(path)), size, '');
    t.state = TransferState.HASHING;
    const o: Outgoing = { t, path, on: lf, fid: 0, reader: null, sent: 0, acked: 0 };
    this.add(o);
    try {
      t.sha256 = (await hashPrefix(path, size)).digest('hex');
    } catch (err) {
      this.finish(
        t,
        TransferState.FAILED,
        new ProtocolError(ErrorCode.FILE_IO, `cannot read ${path}: ${(err as Error).message}`),
      );
      return t;
    }
    if (t.state !== TransferState.HASHING) return t; // cancelled meanwhile
    if (!link.isOpen) {
      this.setState(t, TransferState.INTERRUPTED);
      return t;
    }
    this.offer(lf, o);
    return t;
  }

  /** Accept an offer: creates `<name>.part` in the download directory and asks for the bytes. */
  async accept(id: number): Promise<void> {
    const e = this.entries.get(id);
    if (!e || isOutgoing(e) || e.t.state !== TransferState.OFFERED || e.acceptedOffset !== null || !e.on) {
      throw new ProtocolError(ErrorCode.FILE_UNKNOWN, `no file offer ${id} waiting for an answer`);
    }
    e.acceptedOffset = 0; // claimed: a second accept() fails above
    try {
      await mkdir(this.downloadDir, { recursive: true, mode: 0o700 });
      e.partial = await PartialFile.create(this.downloadDir, this.partState(e));
    } catch (err) {
      e.acceptedOffset = null;
      this.failIncoming(e, asFileError(err));
      throw asFileError(err);
    }
    if (isFinal(e.t.state) || !e.on) {
      await e.partial.remove();
      return;
    }
    e.t.name = e.partial.name;
    e.on.link.sendFileControl({ t: 'file_accept', fid: e.fid, offset: 0 });
    this.emit('update', e.t);
  }

  decline(id: number): void {
    const e = this.entries.get(id);
    if (!e || isOutgoing(e) || e.t.state !== TransferState.OFFERED || e.acceptedOffset !== null) {
      throw new ProtocolError(ErrorCode.FILE_UNKNOWN, `no file offer ${id} waiting for an answer`);
    }
    e.on?.link.sendFileControl({ t: 'file_refuse', fid: e.fid, code: ErrorCode.FILE_DECLINED, reason: 'declined' });
    this.finish(e.t, TransferState.DECLINED, new ProtocolError(ErrorCode.FILE_DECLINED, 'declined'));
  }

  /** Either side, any state but a final one. A received part is removed. */
  cancel(id: number): void {
    const e = this.entries.get(id);
    if (!e || isFinal(e.t.state)) throw new ProtocolError(ErrorCode.FILE_UNKNOWN, `no transfer ${id} in progress`);
    const error = new ProtocolError(ErrorCode.FILE_CANCELLED, 'cancelled');
    if (isOutgoing(e)) {
      e.reader?.destroy();
      if (e.fid > 0)
        e.on?.link.sendFileControl({ t: 'file_cancel', fid: e.fid, code: error.code, reason: 'cancelled' });
    } else {
      e.on?.link.sendFileControl({ t: 'file_refuse', fid: e.fid, code: error.code, reason: 'cancelled' });
      void e.partial?.remove();
      if (!e.partial && e.t.state === TransferState.INTERRUPTED) void this.removeStalePart(e);
    }
    this.finish(e.t, TransferState.CANCELLED, error);
  }

  // ---- section 6.7, messages ----

  private onControl(lf: LinkFiles, m: FileControl): void {
    switch (m.t) {
      case 'file_offer':
        return void this.onOffer(lf, m);
      case 'file_accept':
        return void this.onAccept(lf, m);
      case 'file_start':
        return this.onStart(lf, m);
      case 'file_ack': {
        const o = lf.out.get(m.fid);
        if (!o || m.offset > o.sent || m.offset <= o.acked) return;
        o.acked = m.offset;
        this.resumeReading(o);
        return;
      }
      case 'file_done': {
        const o = lf.out.get(m.fid);
        if (o && (o.t.state === TransferState.VERIFYING || o.t.state === TransferState.ACTIVE)) {
          this.finish(o.t, TransferState.DONE, null);
        }
        return;
      }
      case 'file_cancel': {
        const i = lf.in.get(m.fid);
        if (!i || isFinal(i.t.state)) return;
        void i.partial?.remove();
        this.finish(i.t, TransferState.CANCELLED, peerError(m, ErrorCode.FILE_CANCELLED));
        return;
      }
      case 'file_refuse': {
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
        this.finish(o.t, state, error);
        return;
      }
    }
  }

  /** Receiver: check the offer, resume a part of the same offer, or ask the user. */
  private async onOffer(lf: LinkFiles, m: Extract<FileControl, { t: 'file_offer' }>): Promise<void> {
    const refuse = (code: ErrorCode, reason: string) =>
      lf.link.sendFileControl({ t: 'file_refuse', fid: m.fid, code, reason });
    if (lf.in.has(m.fid)) {
      refuse(ErrorCode.BAD_MESSAGE, `file ${m.fid} was offered before`);
      return;
    }
    const open = [...lf.in.values()].filter((i) => !isFinal(i.t.state)).length;
    if (open >= MAX_FILE_OFFERS_PER_LINK) {
      refuse(ErrorCode.FILE_BUSY, `at most ${MAX_FILE_OFFERS_PER_LINK} files at once`);
      return;
    }
    // The same file cut short on an earlier link keeps its number and name in our list.
    const before = [...this.entries.values()].find(
      (e): e is Incoming =>
        !isOutgoing(e) &&
        e.t.state === TransferState.INTERRUPTED &&
        sameUser(e.t.peerUser, lf.link.peerUser) &&
        e.offeredName === m.name &&
        e.t.size === m.size &&
        e.t.sha256 === m.sha256,
    );
    const t = before?.t ?? this.newTransfer('receive', lf.link.peerUser, safeFileName(m.name), m.size, m.sha256);
    const i: Incoming = before ?? {
      t,
      on: lf,
      fid: m.fid,
      offeredName: m.name,
      partial: null,
      acceptedOffset: null,
      paused: false,
      ackedAt: 0,
      kept: null,
    };
    Object.assign(i, { on: lf, fid: m.fid, partial: null, acceptedOffset: null, paused: false });
    t.state = TransferState.OFFERED;
    t.error = null;
    lf.in.set(m.fid, i);
    if (!before) this.add(i);
    if (m.size > this.maxFileBytes) {
      const error = new ProtocolError(
        ErrorCode.FILE_TOO_LARGE,
        `${m.size} bytes is over this receiver's limit of ${this.maxFileBytes}`,
      );
      refuse(error.code, error.message);
      this.finish(t, TransferState.DECLINED, error);
      return;
    }
    await i.kept; // the last link's bytes are on disk before the part is measured
    const partial = await PartialFile.resume(this.downloadDir, this.partState(i)).catch(() => null);
    if (i.on !== lf || t.state !== TransferState.OFFERED || i.acceptedOffset !== null) {
      await partial?.keep();
      return;
    }
    if (!partial) {
      this.emit('offer', t);
      this.emit('update', t);
      return;
    }
    // Accepted before (the part exists): carry on without asking again.
    i.partial = partial;
    i.acceptedOffset = partial.received;
    t.name = partial.name;
    lf.link.sendFileControl({ t: 'file_accept', fid: m.fid, offset: partial.received, prefix: partial.prefixDigest() });
    this.emit('update', t);
  }

  /** Sender: the receiver said yes, from `offset` (checked against our own prefix). */
  private async onAccept(lf: LinkFiles, m: Extract<FileControl, { t: 'file_accept' }>): Promise<void> {
    const o = lf.out.get(m.fid);
    if (!o || o.t.state !== TransferState.OFFERED) return;
    let start = 0;
    if (m.offset > o.t.size) {
      lf.link.sendFileControl({
        t: 'file_cancel',
        fid: m.fid,
        code: ErrorCode.BAD_MESSAGE,
        reason: 'offset past the end',
      });
      this.finish(
        o.t,
        TransferState.FAILED,
        new ProtocolError(ErrorCode.BAD_MESSAGE, 'the receiver asked for an offset past the end'),
      );
      return;
    }
    this.setState(o.t, TransferState.ACTIVE);
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
    this.beginRun(o.t, start);
    this.startReading(o, lf, start);
  }

  private startReading(o: Outgoing, lf: LinkFiles, start: number): void {
    const { t } = o;
    if (start === t.size) {
      this.setState(t, TransferState.VERIFYING);
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
      this.progress(t);
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
        this.finish(t, TransferState.FAILED, error);
        return;
      }
      this.progress(t, true);
      this.setState(t, TransferState.VERIFYING);
    });
    reader.on('error', (err) => {
      if (o.reader !== reader || isFinal(t.state)) return;
      const error = new ProtocolError(ErrorCode.FILE_IO, `cannot read ${o.path}: ${err.message}`);
      lf.link.sendFileControl({ t: 'file_cancel', fid: o.fid, code: error.code, reason: error.message });
      this.finish(t, TransferState.FAILED, error);
    });
  }

  private resumeReading(o: Outgoing): void {
    if (o.t.state !== TransferState.ACTIVE || !o.reader || !o.on?.link.isOpen) return;
    if (o.sent - o.acked < FILE_WINDOW_BYTES) o.reader.resume();
  }

  /** Receiver: the sender starts at the offset we named, or at 0 (our prefix was not its file). */
  private onStart(lf: LinkFiles, m: Extract<FileControl, { t: 'file_start' }>): void {
    const i = lf.in.get(m.fid);
    if (!i || isFinal(i.t.state)) return;
    if (i.t.state !== TransferState.OFFERED || i.acceptedOffset === null || !i.partial) {
      return this.failIncoming(i, new ProtocolError(ErrorCode.BAD_MESSAGE, 'file_start before file_accept'));
    }
    if (m.offset !== 0 && m.offset !== i.acceptedOffset) {
      return this.failIncoming(
        i,
        new ProtocolError(ErrorCode.BAD_MESSAGE, `file_start at ${m.offset}, not 0 or ${i.acceptedOffset}`),
      );
    }
    if (m.offset === 0 && i.partial.received > 0) i.partial.restart();
    this.setState(i.t, TransferState.ACTIVE);
    this.beginRun(i.t, m.offset);
    i.ackedAt = m.offset;
    if (i.t.size === m.offset) void this.completeIncoming(i);
  }

  private onData(lf: LinkFiles, d: FileData): void {
    const i = lf.in.get(d.fid);
    if (!i) {
      lf.link.sendFileControl({ t: 'file_refuse', fid: d.fid, code: ErrorCode.FILE_UNKNOWN, reason: 'no such file' });
      return;
    }
    // Bytes already on the way when one side cancelled.
    if (isFinal(i.t.state)) return;
    const partial = i.partial;
    if (i.t.state !== TransferState.ACTIVE || !partial) {
      return this.failIncoming(i, new ProtocolError(ErrorCode.BAD_MESSAGE, 'file data before file_start'));
    }
    if (d.offset !== partial.received) {
      return this.failIncoming(
        i,
        new ProtocolError(ErrorCode.BAD_MESSAGE, `file data at ${d.offset}, expected ${partial.received}`),
      );
    }
    if (d.offset + d.data.length > i.t.size) {
      return this.failIncoming(
        i,
        new ProtocolError(ErrorCode.FILE_SIZE_MISMATCH, `the sender sent more than the ${i.t.size} bytes it announced`),
      );
    }
    try {
      partial.write(d.data);
    } catch (err) {
      return this.failIncoming(i, asFileError(err));
    }
    i.t.bytesDone = partial.received;
    if (partial.received - i.ackedAt >= FILE_ACK_EVERY_BYTES) {
      i.ackedAt = partial.received;
      lf.link.sendFileControl({ t: 'file_ack', fid: i.fid, offset: partial.received });
    }
    this.progress(i.t);
    if (partial.backlogBytes > FILE_WRITE_BACKLOG_BYTES && !i.paused) {
      // The disk is slower than the link: stop reading (TCP pushes back on the sender).
      i.paused = true;
      lf.link.pauseReading();
      void partial.settled().then(
        () => this.unpause(i),
        (err) => {
          this.unpause(i);
          this.failIncoming(i, asFileError(err));
        },
      );
    }
    if (partial.received === i.t.size) void this.completeIncoming(i);
  }

  private unpause(i: Incoming): void {
    if (!i.paused) return;
    i.paused = false;
    i.on?.link.resumeReading();
  }

  /** Every byte is here: the hash decides, then the part gets its final name. */
  private async completeIncoming(i: Incoming): Promise<void> {
    const partial = i.partial;
    if (!partial) return;
    this.progress(i.t, true);
    this.setState(i.t, TransferState.VERIFYING);
    try {
      await partial.settled();
      const digest = partial.digest();
      if (digest !== i.t.sha256) {
        throw new ProtocolError(
          ErrorCode.FILE_HASH_MISMATCH,
          'the SHA-256 of what arrived is not the one offered: removed',
        );
      }
      if (isFinal(i.t.state)) return;
      i.t.savedAs = await partial.finish();
    } catch (err) {
      this.failIncoming(i, asFileError(err));
      return;
    }
    i.on?.link.sendFileControl({ t: 'file_done', fid: i.fid });
    this.finish(i.t, TransferState.DONE, null);
  }

  /** Tell the sender why, remove the part, mark failed. */
  private failIncoming(i: Incoming, error: ProtocolError): void {
    if (isFinal(i.t.state)) return;
    i.on?.link.sendFileControl({ t: 'file_refuse', fid: i.fid, code: error.code, reason: error.message.slice(0, 500) });
    this.unpause(i);
    void i.partial?.remove();
    this.finish(i.t, TransferState.FAILED, error);
  }

  private onLinkClosed(lf: LinkFiles): void {
    this.links.delete(lf.link);
    for (const o of lf.out.values()) {
      o.on = null;
      o.reader?.destroy();
      o.reader = null;
      // Offered again to the same user on the next link (section 6.7, resume).
      if (!isFinal(o.t.state) && o.t.state !== TransferState.HASHING) this.setState(o.t, TransferState.INTERRUPTED);
    }
    for (const i of lf.in.values()) {
      i.on = null;
      i.paused = false;
      if (isFinal(i.t.state)) continue;
      if (i.acceptedOffset === null) {
        this.finish(
          i.t,
          TransferState.CANCELLED,
          new ProtocolError(ErrorCode.DISCONNECTED, 'the chat ended before an answer'),
        );
      } else if (i.t.state !== TransferState.VERIFYING) {
        i.kept = i.partial?.keep() ?? null;
        i.partial = null;
        this.setState(i.t, TransferState.INTERRUPTED);
      }
    }
  }

  // ---- bookkeeping ----

  private offer(lf: LinkFiles, o: Outgoing): void {
    o.fid = lf.nextFid++;
    o.on = lf;
    lf.out.set(o.fid, o);
    o.t.bytesDone = 0;
    this.setState(o.t, TransferState.OFFERED);
    lf.link.sendFileControl({ t: 'file_offer', fid: o.fid, name: o.t.name, size: o.t.size, sha256: o.t.sha256 });
  }

  private partState(i: Incoming): { v: 1; peer: string; name: string; size: number; sha256: string } {
    return { v: 1, peer: i.t.peerUser, name: safeFileName(i.offeredName), size: i.t.size, sha256: i.t.sha256 };
  }

  /** Cancelling an interrupted receive: its part is on disk, closed; find and delete it. */
  private async removeStalePart(i: Incoming): Promise<void> {
    const partial = await PartialFile.resume(this.downloadDir, this.partState(i)).catch(() => null);
    await partial?.remove();
  }

  private newTransfer(
    direction: 'send' | 'receive',
    peerUser: string,
    name: string,
    size: number,
    sha256: string,
  ): Transfer {
    return {
      id: this.nextId++,
      direction,
      peerUser,
      name,
      size,
      sha256,
      state: TransferState.OFFERED,
      bytesDone: 0,
      startOffset: 0,
      startedAt: this.now(),
      rateBytesPerSec: 0,
      savedAs: null,
      error: null,
    };
  }

  private add(e: Entry): void {
    this.entries.set(e.t.id, e);
    const finished = [...this.entries.values()].filter((x) => isFinal(x.t.state));
    for (const old of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_KEPT)))
      this.entries.delete(old.t.id);
    this.emit('update', e.t);
  }

  private beginRun(t: Transfer, offset: number): void {
    t.startOffset = offset;
    t.bytesDone = offset;
    t.startedAt = this.now();
    t.rateBytesPerSec = 0;
  }

  private progress(t: Transfer, force = false): void {
    const now = this.now();
    const last = this.lastProgress.get(t.id) ?? 0;
    if (!force && now - last < this.progressIntervalMs) return;
    this.lastProgress.set(t.id, now);
    const seconds = (now - t.startedAt) / 1000;
    if (seconds > 0) t.rateBytesPerSec = (t.bytesDone - t.startOffset) / seconds;
    this.emit('progress', t);
  }

  private setState(t: Transfer, state: TransferState): void {
    if (t.state === state) return;
    t.state = state;
    this.emit('update', t);
  }

  private finish(t: Transfer, state: TransferState, error: ProtocolError | null): void {
    if (isFinal(t.state)) return;
    t.error = error;
    this.lastProgress.delete(t.id);
    this.setState(t, state);
  }
}

function peerError(m: { code: string; reason: string }, fallback: ErrorCode): ProtocolError {
  return new ProtocolError(isErrorCode(m.code) ? m.code : fallback, sanitizeLine(m.reason) || m.code);
}

function asFileError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  return new ProtocolError(ErrorCode.FILE_IO, (err as Error).message, { cause: err });
}
