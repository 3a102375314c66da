/**
 * Pending broadcasts pane: id, sender, live mm:ss countdown, acknowledged n of N, and a
 * preview of the text. Reads the queue through BroadcastQueueView, so the pane does not
 * depend on how the queue stores or delivers anything; rows leave when they expire.
 */
import type { EventEmitter } from 'eventemitter3';
import type contrib from 'blessed-contrib';
import { formatCountdown } from '../../util/duration.ts';
import { Feed } from './feed.ts';
import { safeText, SHORT_ID_CHARS, shortId } from './format.ts';
import { byNumber, byText, tableLabel, TableModel, type Column } from './table-model.ts';
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

/** The text takes the pane's spare width; the short id and the countdown are never cut. */
export const BROADCAST_COLUMNS: readonly Column<PendingBroadcastInfo>[] = [
  { title: 'ID', width: SHORT_ID_CHARS, cell: (b) => shortId(b.id), compare: (a, b) => byText(a.id, b.id) },
  { title: 'From', width: 12, min: 6, cell: (b) => b.sender, compare: (a, b) => byText(a.sender, b.sender) },
  {
    title: 'Left',
    width: 6,
    min: 5,
    cell: (b, now) => formatCountdown(b.expiresAt - now),
    compare: (a, b) => byNumber(a.expiresAt, b.expiresAt),
  },
  {
    title: 'Acked',
    width: 7,
    min: 5,
    cell: (b) => `${b.acked}/${b.recipients}`,
    compare: (a, b) => byNumber(a.acked / Math.max(1, a.recipients), b.acked / Math.max(1, b.recipients)),
  },
  { title: 'Text', width: 20, min: 4, grow: true, cell: (b) => b.text, compare: (a, b) => byText(a.text, b.text) },
];

const matchesBroadcast = (b: PendingBroadcastInfo, needle: string): boolean =>
  b.sender.toLowerCase().includes(needle) || b.text.toLowerCase().includes(needle) || b.id.startsWith(needle);

/** Default order: soonest to expire first. */
export const broadcastsModel = (): TableModel<PendingBroadcastInfo> =>
  new TableModel(BROADCAST_COLUMNS, (a, b) => a.expiresAt - b.expiresAt, matchesBroadcast);

/** Broadcasts still pending at `now`. */
export function pendingAt(queue: BroadcastQueueView, now: number): PendingBroadcastInfo[] {
  return queue.pending().filter((b) => b.expiresAt > now);
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
    this.rows = new WindowedTable(table, broadcastsModel(), this.now);
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
    const shown = this.rows.model.apply(pending);
    this.rows.setRows(shown);
    this.table.setLabel(
      ` ${safeText(tableLabel('Pending broadcasts', shown.length, pending.length, this.rows.model))} `,
    );
  }
}
