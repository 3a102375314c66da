/**
 * The dashboard's layout, and nothing else (as gtop's lib/gtop.js): where each pane sits and
 * how it looks. The feeds fill the panes; dashboard.ts wires keys and drawing.
 *
 *   +-- connections --+---------- last 10 minutes (chart) ----------+
 *   (cluster mode: the chart gives its right half to the cluster pane)
 *   +------------------------- users ---------------------------------+
 *   +------ pending broadcasts ------+----------- events -------------+
 *    footer: listen address and ports, TLS fingerprint, uptime, memory, loop delay
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import contrib from 'blessed-contrib';
import { BROADCAST_COLUMNS } from './broadcasts-feed.ts';
import { CHART_SERIES } from './connections-feed.ts';
import { KEY_BINDINGS } from './keys.ts';
import { COLUMN_SPACING } from './table-model.ts';
import { USER_COLUMNS } from './users-feed.ts';

export const GRID_ROWS = 12;
export const GRID_COLS = 12;
export const FOOTER_LINES = 3;
/** Below this the panes cannot show their columns; the screen says so instead of drawing garbage. */
export const MIN_COLS = 80;
export const MIN_ROWS = 24;
export const BORDER_COLOR = 'cyan';
export const FOCUS_COLOR = 'yellow';

export interface Layout {
  /** Holds the grid, so it can be hidden as one when the terminal is too small. */
  main: Widgets.BoxElement;
  connections: Widgets.BoxElement;
  chart: contrib.Widgets.LineElement;
  /** Cluster mode only: the nodes (cluster-feed.ts). */
  cluster: Widgets.BoxElement | null;
  users: contrib.Widgets.TableElement;
  broadcasts: contrib.Widgets.TableElement;
  events: Widgets.BoxElement;
  footer: Widgets.BoxElement;
  /** The `/` prompt, over the bottom of the users pane. */
  filter: Widgets.TextboxElement;
  help: Widgets.BoxElement;
  /** What Enter opens (detail-view.ts). */
  detail: Widgets.BoxElement;
  confirm: Widgets.BoxElement;
  tooSmall: Widgets.BoxElement;
}

function table(label: string, columns: readonly { width: number }[]) {
  const columnWidth = columns.map((c) => c.width); // fitted to the pane on every resize
  return {
    label: ` ${label} `,
    tags: true,
    // The dashboard routes the scroll keys itself (windowed-table.ts); the list must not move too.
    keys: false,
    interactive: true,
    fg: 'white',
    selectedFg: 'black',
    selectedBg: 'cyan',
    columnSpacing: COLUMN_SPACING,
    columnWidth,
  } as unknown as contrib.Widgets.TableOptions;
}

function overlay(screen: Widgets.Screen, options: Widgets.BoxOptions): Widgets.BoxElement {
  return blessed.box({
    parent: screen,
    top: 'center',
    left: 'center',
    tags: true,
    hidden: true,
    border: { type: 'line' },
    style: { border: { fg: FOCUS_COLOR }, bg: 'black' },
    padding: { left: 1, right: 1 },
    ...options,
  });
}

export function buildLayout(screen: Widgets.Screen, options: { cluster?: boolean } = {}): Layout {
  const main = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: `100%-${FOOTER_LINES}` });
  // contrib's grid sizes cells in percent of the element it appends to: here, `main`.
  const grid = new contrib.grid({
    rows: GRID_ROWS,
    cols: GRID_COLS,
    screen: main as unknown as Widgets.Screen,
    color: BORDER_COLOR,
  } as contrib.Widgets.GridOptions);
  const set = <T>(row: number, col: number, rowSpan: number, colSpan: number, widget: unknown, options: object): T =>
    grid.set(row, col, rowSpan, colSpan, widget, { screen, ...options }) as T;

  const connections = set<Widgets.BoxElement>(0, 0, 4, 4, blessed.box, { label: ' Connections ', tags: true });
  const chartCols = options.cluster ? 4 : 8;
  const chart = set<contrib.Widgets.LineElement>(0, 4, 4, chartCols, contrib.line, {
    // The legend lives in the label: contrib's legend box sat over the newest data (the
    // "now" end) and, at 80 columns, over the time labels.
    label: ` Last 10 minutes: {${CHART_SERIES.tcp.color}-fg}${CHART_SERIES.tcp.title}{/${CHART_SERIES.tcp.color}-fg}, {${CHART_SERIES.udp.color}-fg}${CHART_SERIES.udp.title}{/${CHART_SERIES.udp.color}-fg} `,
    tags: true,
    showLegend: false,
    wholeNumbersOnly: true,
    minY: 0,
    style: { line: CHART_SERIES.tcp.color, text: 'white', baseline: 'white' },
  });
  const cluster = options.cluster
    ? set<Widgets.BoxElement>(0, 8, 4, 4, blessed.box, { label: ' Cluster ', tags: true })
    : null;
  const users = set<contrib.Widgets.TableElement>(4, 0, 4, 12, contrib.table, table('Users', USER_COLUMNS));
  const broadcasts = set<contrib.Widgets.TableElement>(
    8,
    0,
    4,
    6,
    contrib.table,
    table('Pending broadcasts', BROADCAST_COLUMNS),
  );
  const events = set<Widgets.BoxElement>(8, 6, 4, 6, blessed.box, {
    label: ' Events ',
    tags: true,
    keys: false, // scrolled by the dashboard through the event-log feed
    scrollable: true,
    alwaysScroll: true,
    scrollbar: { ch: ' ', style: { bg: BORDER_COLOR } },
  });

  const footer = blessed.box({
    parent: screen,
    bottom: 0,
    left: 0,
    width: '100%',
    height: FOOTER_LINES,
    tags: true,
    style: { fg: 'white', bg: 'blue' },
  });

  const filter = blessed.textbox({
    parent: screen,
    hidden: true,
    height: 3,
    // Wide enough for its label at 80 columns (a label longer than the box covers the input).
    width: 64,
    left: 'center',
    top: 'center',
    label: ' Filter (Enter keeps, Esc clears) ', // the pane's own words are set when it opens
    border: { type: 'line' },
    style: { border: { fg: FOCUS_COLOR }, bg: 'black' },
    inputOnFocus: false,
  });

  // Tall enough for every key binding, a blank line, the closing hint and the border.
  // The keys, then the whole TLS fingerprint (4 rows), then 'any key closes'.
  const help = overlay(screen, { label: ' Keys ', width: 76, height: KEY_BINDINGS.length + 8 });
  const confirm = overlay(screen, { label: ' Stop the server? ', width: 60, height: 7 });
  const detail = overlay(screen, {
    width: '90%',
    height: '90%',
    scrollable: true,
    alwaysScroll: true,
    keys: false, // scrolled by the dashboard
    scrollbar: { ch: ' ', style: { bg: BORDER_COLOR } },
  });
  const tooSmall = blessed.box({
    parent: screen,
    top: 0,
    left: 0,
    width: '100%',
    height: '100%',
    hidden: true,
    tags: true,
  });

  return {
    main,
    connections,
    chart,
    cluster,
    users,
    broadcasts,
    events,
    footer,
    filter,
    help,
    detail,
    confirm,
    tooSmall,
  };
}
