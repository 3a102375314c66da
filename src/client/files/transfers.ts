/**
 * File transfer over peer links (PROTOCOL.md section 6.7), headless. This is the book: it
 * follows links, numbers and keeps transfers, routes the `file_*` messages and data frames to
 * the sending half (sender.ts) or the receiving half (receiver.ts), and announces changes.
 * Views listen to `offer`, `update` and `progress` and call send/accept/decline/cancel.
 *
 * Usage: `const files = new FileTransfers({ downloadDir }); peers.on('session', (l) => files.attach(l));`
 */
import { DEFAULT_MAX_FILE_BYTES } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { sameUser } from '../../net/names.ts';
import type { FileControl } from '../peer/link.ts';
import { Emitter } from '../../util/emitter.ts';
import { isOutgoing, type Entry, type FileLink, type LinkFiles, type TransferBook } from './book.ts';
import { FileReceiver } from './receiver.ts';
import { FileSender } from './sender.ts';
import { isFinal, TransferState, type Transfer } from './transfer.ts';

export { TransferState, type Transfer } from './transfer.ts';
export type { FileLink } from './book.ts';

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

const PROGRESS_INTERVAL_MS = 250;
/** Finished transfers remembered for /transfers. */
const MAX_FINISHED_KEPT = 100;

export class FileTransfers extends Emitter<FileTransfersEvents> {
  readonly downloadDir: string;
  readonly maxFileBytes: number;
  private readonly now: () => number;
  private readonly progressIntervalMs: number;
  private nextId = 1;
  private readonly entries = new Map<number, Entry>();
  private readonly links = new Map<FileLink, LinkFiles>();
  private readonly lastProgress = new Map<number, number>();
  private readonly sender: FileSender;
  private readonly receiver: FileReceiver;

  constructor(options: FileTransfersOptions) {
    super();
    this.downloadDir = options.downloadDir;
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.now = options.now ?? Date.now;
    this.progressIntervalMs = options.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
    const book = this.book();
    this.sender = new FileSender(book);
    this.receiver = new FileReceiver(book);
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
    const lf: LinkFiles = { link, out: new Map(), in: new Map(), nextFid: 1, unknownReplies: 0 };
    this.links.set(link, lf);
    link.on('file', (m) => this.onControl(lf, m));
    link.on('file_data', (d) => this.receiver.onData(lf, d));
    link.on('file_drain', () => {
      for (const o of lf.out.values()) this.sender.resume(o);
    });
    link.on('close', () => {
      this.links.delete(link);
      for (const o of lf.out.values()) this.sender.interrupted(o);
      for (const i of lf.in.values()) this.receiver.interrupted(i);
    });
    for (const e of this.entries.values()) {
      if (isOutgoing(e) && e.t.state === TransferState.INTERRUPTED && sameUser(e.t.peerUser, link.peerUser)) {
        this.sender.offer(lf, e);
      }
    }
  }

  /** Offer a file on `link`: hashes it (state `hashing`), then sends the offer. Throws E_FILE_IO, E_FILE_BUSY. */
  send(link: FileLink, path: string): Promise<Transfer> {
    const lf = this.links.get(link);
    if (!lf || !link.isOpen) {
      return Promise.reject(new ProtocolError(ErrorCode.DISCONNECTED, 'the peer link is not open'));
    }
    return this.sender.send(lf, path);
  }

  /** Accept an offer: creates `<name>.part` in the download directory and asks for the bytes. */
  async accept(id: number): Promise<void> {
    const e = this.entries.get(id);
    if (!e || isOutgoing(e) || e.t.state !== TransferState.OFFERED || e.acceptedOffset !== null || !e.on) {
      throw new ProtocolError(ErrorCode.FILE_UNKNOWN, `no file offer ${id} waiting for an answer`);
    }
    await this.receiver.accept(e);
  }

  decline(id: number): void {
    const e = this.entries.get(id);
    if (!e || isOutgoing(e) || e.t.state !== TransferState.OFFERED || e.acceptedOffset !== null) {
      throw new ProtocolError(ErrorCode.FILE_UNKNOWN, `no file offer ${id} waiting for an answer`);
    }
    this.receiver.decline(e);
  }

  /** Either side, any state but a final one. A received part is removed. */
  cancel(id: number): void {
    const e = this.entries.get(id);
    if (!e || isFinal(e.t.state)) throw new ProtocolError(ErrorCode.FILE_UNKNOWN, `no transfer ${id} in progress`);
    const error = new ProtocolError(ErrorCode.FILE_CANCELLED, 'cancelled');
    if (isOutgoing(e)) this.sender.cancel(e, error);
    else this.receiver.cancel(e, error);
  }

  /** Section 6.7: each message to the half that handles it. */
  private onControl(lf: LinkFiles, m: FileControl): void {
    switch (m.t) {
      case 'file_offer':
        return void this.receiver.onOffer(lf, m);
      case 'file_start':
        return this.receiver.onStart(lf, m);
      case 'file_cancel':
        return this.receiver.onCancel(lf, m);
      case 'file_accept':
        return void this.sender.onAccept(lf, m);
      case 'file_ack':
        return this.sender.onAck(lf, m);
      case 'file_done':
        return this.sender.onDone(lf, m);
      case 'file_refuse':
        return this.sender.onRefuse(lf, m);
    }
  }

  /** What the two halves may do to the book. */
  private book(): TransferBook {
    return {
      downloadDir: this.downloadDir,
      maxFileBytes: this.maxFileBytes,
      entries: () => this.entries.values(),
      newTransfer: (direction, peerUser, name, size, sha256) => ({
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
      }),
      add: (e) => {
        this.entries.set(e.t.id, e);
        const finished = [...this.entries.values()].filter((x) => isFinal(x.t.state));
        for (const old of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_KEPT)))
          this.entries.delete(old.t.id);
        this.emit('update', e.t);
      },
      beginRun: (t, offset) => {
        t.startOffset = offset;
        t.bytesDone = offset;
        t.startedAt = this.now();
        t.rateBytesPerSec = 0;
      },
      progress: (t, force = false) => this.progress(t, force),
      setState: (t, state) => this.setState(t, state),
      finish: (t, state, error) => {
        if (isFinal(t.state)) return;
        t.error = error;
        this.lastProgress.delete(t.id);
        this.setState(t, state);
      },
      offered: (t) => {
        this.emit('offer', t);
        this.emit('update', t);
      },
      changed: (t) => this.emit('update', t),
    };
  }

  private progress(t: Transfer, force: boolean): void {
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
}
