/** File transfers (PROTOCOL.md section 6.7) in words: sizes, rates, time left, one row per transfer. Pure. */
import { TransferState, type Transfer } from '../../files/transfer.ts';
import { fitCells } from '../text.ts';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB"; bytes are shown whole. */
export function bytesText(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** 75 -> "1 min 15 s"; 7300 -> "2 h 1 min". */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** "45% 45.0 MiB of 100.0 MiB, 12.3 MiB/s, 5 s left" (rate and time once known). */
export function progressText(t: Transfer): string {
  const pct = t.size === 0 ? 100 : Math.floor((t.bytesDone / t.size) * 100);
  let text = `${pct}% ${bytesText(t.bytesDone)} of ${bytesText(t.size)}`;
  if (t.rateBytesPerSec > 0) {
    text += `, ${bytesText(t.rateBytesPerSec)}/s`;
    text += `, ${durationText((t.size - t.bytesDone) / t.rateBytesPerSec)} left`;
  }
  return text;
}

const STATE_WORDS: Record<TransferState, string> = {
  [TransferState.HASHING]: 'hashing',
  [TransferState.OFFERED]: 'waiting for an answer',
  [TransferState.ACTIVE]: 'moving',
  [TransferState.VERIFYING]: 'checking the SHA-256',
  [TransferState.INTERRUPTED]: 'interrupted: resumes when you chat again',
  [TransferState.DONE]: 'done',
  [TransferState.DECLINED]: 'declined',
  [TransferState.CANCELLED]: 'cancelled',
  [TransferState.FAILED]: 'failed',
};

/** "to bob" / "from bob", with the name: how a transfer is named in notes. */
export function transferTitle(t: Transfer): string {
  return `${t.name} (${bytesText(t.size)}) ${t.direction === 'send' ? 'to' : 'from'} ${t.peerUser}`;
}

/** One row of /transfers. */
export function transferRow(t: Transfer): string {
  let row = `#${t.id} ${t.direction === 'send' ? '↑' : '↓'} ${transferTitle(t)}: ${STATE_WORDS[t.state]}`;
  if (t.state === TransferState.ACTIVE) row += `, ${progressText(t)}`;
  if (t.state === TransferState.DONE && t.savedAs) row += `, saved as ${t.savedAs}`;
  if (t.error && t.state !== TransferState.DONE) row += ` (${t.error.message})`;
  return row;
}

/** Cells of a file name in the short (title) form. */
const SHORT_NAME_CELLS = 24;

/**
 * The moving transfers in one phrase, or "" when none: in full for the status bar, `short`
 * (name cut, percentage only) for a chat tab's title, which has a border's width to share.
 */
export function statusSegment(list: readonly Transfer[], short = false): string {
  const moving = list.filter((t) => t.state === TransferState.ACTIVE);
  if (moving.length === 0) return '';
  if (moving.length === 1) {
    const [t] = moving as [Transfer];
    const arrow = t.direction === 'send' ? '↑' : '↓';
    if (!short) return `${arrow} ${t.name} ${progressText(t)}`;
    const pct = t.size === 0 ? 100 : Math.floor((t.bytesDone / t.size) * 100);
    return `${arrow} ${fitCells(t.name, SHORT_NAME_CELLS)} ${pct}%`;
  }
  const done = moving.reduce((n, t) => n + t.bytesDone, 0);
  const size = moving.reduce((n, t) => n + t.size, 0);
  const rate = moving.reduce((n, t) => n + t.rateBytesPerSec, 0);
  const pct = size === 0 ? 100 : Math.floor((done / size) * 100);
  return short ? `${moving.length} files ${pct}%` : `${moving.length} files ${pct}%, ${bytesText(rate)}/s`;
}
