/**
 * What the sender and receiver halves of file transfer (sender.ts, receiver.ts) share: the
 * link they run on, their per-file records, and the book (FileTransfers) that numbers
 * transfers, keeps them and announces their changes (PROTOCOL.md section 6.7).
 */
import type { ReadStream } from 'node:fs';
import { ErrorCode, isErrorCode, ProtocolError } from '../../net/errors.ts';
import { sanitizeLine } from '../../net/sanitize.ts';
import type { PeerLink } from '../peer/link.ts';
import type { PartialFile } from './partial.ts';
import type { Transfer, TransferState } from './transfer.ts';

/** What the transfers use of a peer link. */
export type FileLink = Pick<
  PeerLink,
  'reqId' | 'peerUser' | 'isOpen' | 'sendFileControl' | 'sendFileData' | 'pauseReading' | 'resumeReading' | 'on'
>;

/** The files of one link, by fid: ours (out) and the peer's (in); fids are per direction. */
export interface LinkFiles {
  link: FileLink;
  out: Map<number, Outgoing>;
  in: Map<number, Incoming>;
  nextFid: number;
  /** E_FILE_UNKNOWN answers sent on this link (at most MAX_UNKNOWN_FILE_REPLIES). */
  unknownReplies: number;
}

export interface Outgoing {
  t: Transfer;
  path: string;
  on: LinkFiles | null;
  fid: number;
  reader: ReadStream | null;
  /** Bytes handed to the link, and the receiver's last file_ack: at most FILE_WINDOW_BYTES apart. */
  sent: number;
  acked: number;
}

export interface Incoming {
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

export type Entry = Outgoing | Incoming;
export const isOutgoing = (e: Entry): e is Outgoing => e.t.direction === 'send';

export interface TransferBook {
  readonly downloadDir: string;
  readonly maxFileBytes: number;
  entries(): Iterable<Entry>;
  newTransfer(direction: 'send' | 'receive', peerUser: string, name: string, size: number, sha256: string): Transfer;
  add(e: Entry): void;
  /** A new run of bytes starts at `offset` (0, or where a resume picks up). */
  beginRun(t: Transfer, offset: number): void;
  progress(t: Transfer, force?: boolean): void;
  setState(t: Transfer, state: TransferState): void;
  /** Into a final state, once. */
  finish(t: Transfer, state: TransferState, error: ProtocolError | null): void;
  /** An offer for the user to answer. */
  offered(t: Transfer): void;
  /** Something shown changed without a change of state (the name a part got). */
  changed(t: Transfer): void;
}

/** An error a peer sent in file_cancel / file_refuse; an unknown code reads as `fallback`. */
export function peerError(m: { code: string; reason: string }, fallback: ErrorCode): ProtocolError {
  return new ProtocolError(isErrorCode(m.code) ? m.code : fallback, sanitizeLine(m.reason) || m.code);
}

export function asFileError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  return new ProtocolError(ErrorCode.FILE_IO, (err as Error).message, { cause: err });
}
