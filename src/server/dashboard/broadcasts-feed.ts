/**
 * Pending broadcasts pane: id, sender, live mm:ss countdown, acknowledged n of N, and a
 * preview of the text. Reads the queue through BroadcastQueueView, so the pane does not
 * depend on how the queue stores or delivers anything; rows leave when they expire.
 */
import type { EventEmitter } from 'eventemitter3';
import type contrib from 'blessed-contrib';
import { formatCountdown } from '../../util/duration.ts';
import { PREVIEW_CHARS } from '../broadcasts/service.ts';
import { Feed } from './feed.ts';
import { safeText, shortId, truncate } from './format.ts';
import { WindowedTable } from './windowed-table.ts';

/** What the pane needs to know about one pending broadcast. */
export interface PendingBroadcastInfo {
  id: string;
  sender: string;
  text: string;
  createdAt: number;
  expiresAt: number;
  /** Recipients that acknowledged it, of `recipients` it is meant for. */
  acked: number;
  recipients: number;
}

/** The read-only view of the broadcast queue the dashboard draws from. */
export interface BroadcastQueueView {
  pending(): readonly PendingBroadcastInfo[];
  /** Fires when the queue changes (created, acknowledged, expired), so the pane redraws at once. */
  readonly changes?: EventEmitter<{ change: [] }>;
}

export const BROADCAST_COLUMNS = ['ID', 'From', 'Left', 'Acked', 'Text'] as const;
/**
 * The text goes last and its column is wide enough for the escaped preview, so the table
 * never cuts an escape sequence in half; the pane's own edge clips what does not fit.
 */
export const BROADCAST_COLUMN_WIDTHS = [8, 12, 7, 7, PREVIEW_CHARS * 8];

/** Broadcasts still pending at `now`, soonest to expire first. */
export function pendingAt(queue: BroadcastQueueView, now: number): PendingBroadcastInfo[] {
  return queue
    .pending()
    .filter((b) => b.expiresAt > now)
    .sort((a, b) => a.expiresAt - b.expiresAt);
}

/** One table row; values are escaped (the table parses tags; the text is anyone's). */
export function broadcastCells(b: PendingBroadcastInfo, now: number): string[] {
  return [
    shortId(b.id),
    b.sender,
    formatCountdown(b.expiresAt - now),
    `${b.acked}/${b.recipients}`,
    truncate(b.text.replace(/\s+/g, ' '), PREVIEW_CHARS),
  ].map(safeText);
}

export class BroadcastsFeed extends Feed {
  readonly rows: WindowedTable<PendingBroadcastInfo>;
  private readonly onChange = () => this.markDirty();

  constructor(
    private readonly queue: BroadcastQueueView,
    private readonly table: contrib.Widgets.TableElement,
    requestFrame: () => void,
    private readonly now: () => number,
  ) {
    super(requestFrame, [table]);
    this.rows = new WindowedTable(table, BROADCAST_COLUMNS, (b) => broadcastCells(b, this.now()));
    queue.changes?.on('change', this.onChange);
  }

  override tick(): void {
    this.markDirty(); // countdowns move every second, and acks move the counts
  }

  override dispose(): void {
    this.queue.changes?.off('change', this.onChange);
    super.dispose();
  }

  protected refresh(now: number): void {
    const pending = pendingAt(this.queue, now);
    this.rows.setRows(pending);
    this.table.setLabel(` Pending broadcasts ${pending.length} `);
  }
}
