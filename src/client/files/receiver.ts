/**
 * The receiving half of file transfer (PROTOCOL.md section 6.7): an offer checked and put to
 * the user (or resumed from a part of the same offer without asking), every data frame
 * checked before it is written (file, offset, size), the SHA-256 checked before the file gets
 * its final name, and the part removed on any failure.
 */
import { mkdir } from 'node:fs/promises';
import {
  FILE_ACK_EVERY_BYTES,
  FILE_WRITE_BACKLOG_BYTES,
  MAX_FILE_IDS_REMEMBERED,
  MAX_FILE_OFFERS_PER_LINK,
  MAX_UNKNOWN_FILE_REPLIES,
} from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { FileData } from '../../net/file-frame.ts';
import { sameUser } from '../../net/names.ts';
import type { FileControl } from '../peer/link.ts';
import { asFileError, isOutgoing, peerError, type Incoming, type LinkFiles, type TransferBook } from './book.ts';
import { PartialFile, type PartState } from './partial.ts';
import { safeFileName } from './safe-name.ts';
import { isFinal, TransferState } from './transfer.ts';

type Msg<T extends FileControl['t']> = Extract<FileControl, { t: T }>;

export class FileReceiver {
  constructor(private readonly book: TransferBook) {}

  /** Check the offer, resume a part of the same offer, or ask the user. */
  async onOffer(lf: LinkFiles, m: Msg<'file_offer'>): Promise<void> {
    const refuse = (code: ErrorCode, reason: string) =>
      lf.link.sendFileControl({ t: 'file_refuse', fid: m.fid, code, reason });
    if (lf.in.has(m.fid)) return void refuse(ErrorCode.BAD_MESSAGE, `file ${m.fid} was offered before`);
    if (lf.in.size >= MAX_FILE_IDS_REMEMBERED) {
      for (const [fid, old] of lf.in) if (isFinal(old.t.state)) lf.in.delete(fid);
    }
    const open = [...lf.in.values()].filter((i) => !isFinal(i.t.state)).length;
    if (open >= MAX_FILE_OFFERS_PER_LINK) {
      return void refuse(ErrorCode.FILE_BUSY, `at most ${MAX_FILE_OFFERS_PER_LINK} files at once`);
    }
    // The same file cut short on an earlier link keeps its number and name in our list.
    const before = [...this.book.entries()].find(
      (e): e is Incoming =>
        !isOutgoing(e) &&
        e.t.state === TransferState.INTERRUPTED &&
        sameUser(e.t.peerUser, lf.link.peerUser) &&
        e.offeredName === m.name &&
        e.t.size === m.size &&
        e.t.sha256 === m.sha256,
    );
    const t = before?.t ?? this.book.newTransfer('receive', lf.link.peerUser, safeFileName(m.name), m.size, m.sha256);
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
    if (!before) this.book.add(i);
    if (m.size > this.book.maxFileBytes) {
      const error = new ProtocolError(
        ErrorCode.FILE_TOO_LARGE,
        `${m.size} bytes is over this receiver's limit of ${this.book.maxFileBytes}`,
      );
      refuse(error.code, error.message);
      this.book.finish(t, TransferState.DECLINED, error);
      return;
    }
    await i.kept; // the last link's bytes are on disk before the part is measured
    const partial = await PartialFile.resume(this.book.downloadDir, partState(i)).catch(() => null);
    if (i.on !== lf || t.state !== TransferState.OFFERED || i.acceptedOffset !== null) {
      await partial?.keep();
      return;
    }
    if (!partial) return this.book.offered(t);
    // Accepted before (the part exists): carry on without asking again.
    i.partial = partial;
    i.acceptedOffset = partial.received;
    t.name = partial.name;
    lf.link.sendFileControl({ t: 'file_accept', fid: m.fid, offset: partial.received, prefix: partial.prefixDigest() });
    this.book.changed(t);
  }

  /** The user accepted: create `<name>.part` in the download directory and ask for the bytes. */
  async accept(i: Incoming): Promise<void> {
    i.acceptedOffset = 0; // claimed: a second accept is refused by the caller's check
    try {
      await mkdir(this.book.downloadDir, { recursive: true, mode: 0o700 });
      i.partial = await PartialFile.create(this.book.downloadDir, partState(i));
    } catch (err) {
      i.acceptedOffset = null;
      this.fail(i, asFileError(err));
      throw asFileError(err);
    }
    if (isFinal(i.t.state) || !i.on) {
      await i.partial.remove();
      return;
    }
    i.t.name = i.partial.name;
    i.on.link.sendFileControl({ t: 'file_accept', fid: i.fid, offset: 0 });
    this.book.changed(i.t);
  }

  decline(i: Incoming): void {
    i.on?.link.sendFileControl({ t: 'file_refuse', fid: i.fid, code: ErrorCode.FILE_DECLINED, reason: 'declined' });
    this.book.finish(i.t, TransferState.DECLINED, new ProtocolError(ErrorCode.FILE_DECLINED, 'declined'));
  }

  /** Our user cancelled: tell the sender, remove the part (also of an interrupted file). */
  cancel(i: Incoming, error: ProtocolError): void {
    i.on?.link.sendFileControl({ t: 'file_refuse', fid: i.fid, code: error.code, reason: 'cancelled' });
    if (i.partial) void i.partial.remove();
    else if (i.t.state === TransferState.INTERRUPTED) void this.removeStalePart(i);
    this.book.finish(i.t, TransferState.CANCELLED, error);
  }

  onCancel(lf: LinkFiles, m: Msg<'file_cancel'>): void {
    const i = lf.in.get(m.fid);
    if (!i || isFinal(i.t.state)) return;
    void i.partial?.remove();
    this.book.finish(i.t, TransferState.CANCELLED, peerError(m, ErrorCode.FILE_CANCELLED));
  }

  /** The sender starts at the offset we named, or at 0 (our prefix was not its file). */
  onStart(lf: LinkFiles, m: Msg<'file_start'>): void {
    const i = lf.in.get(m.fid);
    if (!i || isFinal(i.t.state)) return;
    if (i.t.state !== TransferState.OFFERED || i.acceptedOffset === null || !i.partial) {
      return this.fail(i, new ProtocolError(ErrorCode.BAD_MESSAGE, 'file_start before file_accept'));
    }
    if (m.offset !== 0 && m.offset !== i.acceptedOffset) {
      return this.fail(
        i,
        new ProtocolError(ErrorCode.BAD_MESSAGE, `file_start at ${m.offset}, not 0 or ${i.acceptedOffset}`),
      );
    }
    if (m.offset === 0 && i.partial.received > 0) i.partial.restart();
    this.book.setState(i.t, TransferState.ACTIVE);
    this.book.beginRun(i.t, m.offset);
    i.ackedAt = m.offset;
    if (i.t.size === m.offset) void this.complete(i);
  }

  onData(lf: LinkFiles, d: FileData): void {
    const i = lf.in.get(d.fid);
    if (!i) {
      // Answered a few times, so a confused peer learns; a hostile one gets no amplifier.
      if (lf.unknownReplies++ < MAX_UNKNOWN_FILE_REPLIES) {
        lf.link.sendFileControl({ t: 'file_refuse', fid: d.fid, code: ErrorCode.FILE_UNKNOWN, reason: 'no such file' });
      }
      return;
    }
    // Bytes already on the way when one side cancelled.
    if (isFinal(i.t.state)) return;
    const partial = i.partial;
    if (i.t.state !== TransferState.ACTIVE || !partial) {
      return this.fail(i, new ProtocolError(ErrorCode.BAD_MESSAGE, 'file data before file_start'));
    }
    if (d.offset !== partial.received) {
      return this.fail(
        i,
        new ProtocolError(ErrorCode.BAD_MESSAGE, `file data at ${d.offset}, expected ${partial.received}`),
      );
    }
    if (d.offset + d.data.length > i.t.size) {
      return this.fail(
        i,
        new ProtocolError(ErrorCode.FILE_SIZE_MISMATCH, `the sender sent more than the ${i.t.size} bytes it announced`),
      );
    }
    try {
      partial.write(d.data);
    } catch (err) {
      return this.fail(i, asFileError(err));
    }
    i.t.bytesDone = partial.received;
    if (partial.received - i.ackedAt >= FILE_ACK_EVERY_BYTES) {
      i.ackedAt = partial.received;
      lf.link.sendFileControl({ t: 'file_ack', fid: i.fid, offset: partial.received });
    }
    this.book.progress(i.t);
    if (partial.backlogBytes > FILE_WRITE_BACKLOG_BYTES && !i.paused) {
      // The disk is slower than the link: stop reading (TCP pushes back on the sender).
      i.paused = true;
      lf.link.pauseReading();
      void partial.settled().then(
        () => this.unpause(i),
        (err) => {
          this.unpause(i);
          this.fail(i, asFileError(err));
        },
      );
    }
    if (partial.received === i.t.size) void this.complete(i);
  }

  /** The link dropped: an unanswered offer ends; a file in progress keeps its part for a resume. */
  interrupted(i: Incoming): void {
    i.on = null;
    i.paused = false;
    if (isFinal(i.t.state)) return;
    if (i.acceptedOffset === null) {
      const error = new ProtocolError(ErrorCode.DISCONNECTED, 'the chat ended before an answer');
      this.book.finish(i.t, TransferState.CANCELLED, error);
    } else if (i.t.state !== TransferState.VERIFYING) {
      i.kept = i.partial?.keep() ?? null;
      i.partial = null;
      this.book.setState(i.t, TransferState.INTERRUPTED);
    }
  }

  private unpause(i: Incoming): void {
    if (!i.paused) return;
    i.paused = false;
    i.on?.link.resumeReading();
  }

  /** Every byte is here: the hash decides, then the part gets its final name. */
  private async complete(i: Incoming): Promise<void> {
    const partial = i.partial;
    if (!partial) return;
    this.book.progress(i.t, true);
    this.book.setState(i.t, TransferState.VERIFYING);
    try {
      await partial.settled();
      if (partial.digest() !== i.t.sha256) {
        throw new ProtocolError(
          ErrorCode.FILE_HASH_MISMATCH,
          'the SHA-256 of what arrived is not the one offered: removed',
        );
      }
      if (isFinal(i.t.state)) return;
      i.t.savedAs = await partial.finish();
    } catch (err) {
      this.fail(i, asFileError(err));
      return;
    }
    i.on?.link.sendFileControl({ t: 'file_done', fid: i.fid });
    this.book.finish(i.t, TransferState.DONE, null);
  }

  /** Tell the sender why, remove the part, mark failed. */
  private fail(i: Incoming, error: ProtocolError): void {
    if (isFinal(i.t.state)) return;
    i.on?.link.sendFileControl({ t: 'file_refuse', fid: i.fid, code: error.code, reason: error.message.slice(0, 500) });
    this.unpause(i);
    void i.partial?.remove();
    this.book.finish(i.t, TransferState.FAILED, error);
  }

  /** Cancelling an interrupted receive: its part is on disk, closed; find and delete it. */
  private async removeStalePart(i: Incoming): Promise<void> {
    const partial = await PartialFile.resume(this.book.downloadDir, partState(i)).catch(() => null);
    await partial?.remove();
  }
}

function partState(i: Incoming): PartState {
  return { v: 1, peer: i.t.peerUser, name: safeFileName(i.offeredName), size: i.t.size, sha256: i.t.sha256 };
}
