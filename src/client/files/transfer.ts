/** One file transfer as the client and its views see it (PROTOCOL.md section 6.7). */
import type { ProtocolError } from '../../net/errors.ts';

export const TransferState = {
  /** Sender: hashing the file before offering it. */
  HASHING: 'hashing',
  /** Offered; the receiver's user has not answered yet. */
  OFFERED: 'offered',
  /** Bytes are moving. */
  ACTIVE: 'active',
  /** Every byte sent / received; the receiver is checking the SHA-256. */
  VERIFYING: 'verifying',
  /** The link dropped: resumes from the receiver's part when the two reconnect. */
  INTERRUPTED: 'interrupted',
  DONE: 'done',
  DECLINED: 'declined',
  CANCELLED: 'cancelled',
  FAILED: 'failed',
} as const;
export type TransferState = (typeof TransferState)[keyof typeof TransferState];

const FINAL: ReadonlySet<TransferState> = new Set([
  TransferState.DONE,
  TransferState.DECLINED,
  TransferState.CANCELLED,
  TransferState.FAILED,
]);

export function isFinal(state: TransferState): boolean {
  return FINAL.has(state);
}

export interface Transfer {
  /** Local number for /cancel, unique in this client. */
  readonly id: number;
  readonly direction: 'send' | 'receive';
  readonly peerUser: string;
  /** Safe to print: the sender's base name, or for a received file the name it is saved under. */
  name: string;
  size: number;
  sha256: string;
  state: TransferState;
  /** Bytes confirmed: sent to the link, or received (from the resume offset on). */
  bytesDone: number;
  /** Where this run of bytes started (a resumed transfer starts past 0). */
  startOffset: number;
  /** Clock time the current run of bytes started, and bytes per second over it. */
  startedAt: number;
  rateBytesPerSec: number;
  /** Received files: the final path once done. */
  savedAs: string | null;
  error: ProtocolError | null;
}
