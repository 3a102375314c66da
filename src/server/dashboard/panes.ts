/**
 * The three panes Tab moves between, as the dashboard's keys see them: what the arrow keys
 * move, what `/` filters, what Enter opens, and (tables) what `s`/`S` sort. dashboard.ts
 * dispatches keys; this file says what each pane does with them.
 */
import type { Widgets } from 'blessed';
import type contrib from 'blessed-contrib';
import type { ServerCore } from '../server.ts';
import type { BroadcastsFeed } from './broadcasts-feed.ts';
import type { DetailSource } from './detail-view.ts';
import { broadcastDetail, DeliveryLog, eventDetail, PeerRequests, userDetail } from './details.ts';
import type { EventLogFeed } from './event-log-feed.ts';
import type { Feed } from './feed.ts';
import type { Layout } from './layout.ts';
import type { UsersFeed } from './users-feed.ts';
import type { Scrollable, WindowedTable } from './windowed-table.ts';

/** A pane Tab moves to: what its keys move, filter and open; a table also sorts. */
export interface Pane {
  widget: contrib.Widgets.TableElement | Widgets.BoxElement;
  scroll: Scrollable;
  filterLabel: string;
  filter(): string;
  setFilter(text: string): void;
  /** What Enter opens on the selection, if anything is selected. */
  open(): DetailSource | null;
  /** Tables only: sort and fit to width. */
  table?: { model: { nextSortColumn(): void; reverse(): void }; fit(): void };
  feed?: Feed;
}

function tablePane<T>(
  widget: contrib.Widgets.TableElement,
  feed: Feed & { rows: WindowedTable<T> },
  filterLabel: string,
  open: (row: T) => DetailSource,
): Pane {
  const rows = feed.rows;
  return {
    widget,
    scroll: rows,
    filterLabel,
    filter: () => rows.model.filter,
    setFilter: (text) => {
      if (text === rows.model.filter) return;
      rows.model.filter = text;
      feed.invalidate();
    },
    open: () => {
      const row = rows.selectedRow;
      return row === undefined ? null : open(row);
    },
    table: rows,
    feed,
  };
}

export function buildPanes(p: {
  core: ServerCore;
  layout: Layout;
  users: UsersFeed;
  broadcasts: BroadcastsFeed;
  events: EventLogFeed;
  /** The broadcasts pane shows the server's own queue (tests may give it another). */
  ownQueue: boolean;
}): { panes: Pane[]; dispose: () => void } {
  const { core, layout: l, events } = p;
  const peerRequests = new PeerRequests(core);
  const deliveryLog = p.ownQueue ? new DeliveryLog(core) : null;
  const dispose = () => {
    peerRequests.dispose();
    deliveryLog?.dispose();
  };
  const panes: Pane[] = [
    tablePane(l.users, p.users, 'Filter users: name or IP', (entry) => ({
      title: `User ${entry.record.username}`,
      lines: (now) => userDetail(core, entry, peerRequests, events.shown(), now),
    })),
    tablePane(l.broadcasts, p.broadcasts, 'Filter broadcasts: sender, text or id', (info) => ({
      title: `Broadcast ${info.id.slice(0, 8)}`,
      // A queue other than the server's (tests) has no per-user state to show.
      lines: (now) => (deliveryLog ? broadcastDetail(core, info, deliveryLog, now) : [info.id, info.sender, info.text]),
    })),
    {
      widget: l.events,
      scroll: events,
      filterLabel: 'Filter events: any text',
      filter: () => events.filter,
      setFilter: (text) => events.setFilter(text),
      open: () => {
        const record = events.selected;
        return record ? { title: `Event ${record.event}`, lines: () => eventDetail(record) } : null;
      },
    },
  ];
  return { panes, dispose };
}

/**
 * The `/` prompt over a pane: filters as the operator types; Enter keeps the filter, Esc
 * clears it. `done` runs once the prompt has closed.
 */
export function readFilter(box: Widgets.TextboxElement, pane: Pane, done: () => void): void {
  box.setLabel(` ${pane.filterLabel} (Enter keeps, Esc clears) `);
  box.setValue(pane.filter());
  box.show();
  box.setFront();
  let open = true;
  // The textbox has updated its value by the next turn (unless that key ended the prompt:
  // then the callback below has the last word).
  const live = () =>
    setImmediate(() => {
      if (open) pane.setFilter(box.getValue());
    });
  box.on('keypress', live);
  box.readInput((_err: unknown, value?: string | null) => {
    open = false;
    box.removeListener('keypress', live);
    pane.setFilter(typeof value === 'string' ? value : '');
    box.hide();
    done();
  });
}
