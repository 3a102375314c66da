/**
 * A contrib table that only ever holds the rows it can show. blessed makes one element per
 * list item and renders every one of them each frame, so handing it ten thousand accounts
 * would make each frame cost as much as the server's work; here the table gets the visible
 * window, formatted on demand, and the selection and scrolling are kept in this class.
 */
import type { Widgets } from 'blessed';
import type contrib from 'blessed-contrib';
import blessed from 'blessed';
import { sanitizeLine } from '../../net/sanitize.ts';
import { fitRow } from '../../term/unicode-width.ts';
import { fitColumns, type TableModel } from './table-model.ts';

/** contrib's table: border (2), header line and the blank line under it. */
const TABLE_CHROME_ROWS = 4;
/** Border columns of a table pane. */
export const TABLE_CHROME_COLUMNS = 2;

/** Something the arrow and page keys move through (a table's selection, a log's scroll). */
export interface Scrollable {
  scrollBy(lines: number): void;
  /** Lines in one page of this pane. */
  readonly pageSize: number;
}

interface ContribTable {
  options: { columnWidth: number[] };
  rows: Widgets.ListElement & { childBase: number; childOffset: number };
}

export class WindowedTable<T> implements Scrollable {
  private rows: readonly T[] = [];
  private selected = 0;
  private offset = 0;

  constructor(
    private readonly table: contrib.Widgets.TableElement,
    readonly model: TableModel<T>,
    private readonly now: () => number,
  ) {
    // contrib puts its list of rows one cell right of the header it draws in its own box
    // (every row sat one column right of its header), and one cell narrower than the box:
    // the list now spans the box's inner width, as the header does.
    const list = this.contrib.rows;
    list.position.left = 0;
    list.on('prerender', () => {
      const inner = (this.table.width as number) - TABLE_CHROME_COLUMNS;
      if (list.width !== inner) list.width = inner; // contrib's render has just set it one less
      // The list holds only the window, so it must never scroll itself. It did: its own resize
      // handler, run with the height of a too-small terminal (0 rows), scrolled it by one and
      // nothing scrolled it back: rows hidden under an empty first one until the next resize.
      // Pinned as it is drawn, whatever ran since.
      this.pin();
    });
  }

  get pageSize(): number {
    return Math.max(1, (this.table.height as number) - TABLE_CHROME_ROWS);
  }

  /** The row under the selection (Enter opens it), if any. */
  get selectedRow(): T | undefined {
    return this.rows[this.selected];
  }

  get length(): number {
    return this.rows.length;
  }

  /** Fit the columns to the pane's width now (after a resize). */
  fit(): void {
    this.contrib.options.columnWidth = fitColumns(
      this.model.columns,
      (this.table.width as number) - TABLE_CHROME_COLUMNS,
    );
  }

  setRows(rows: readonly T[]): void {
    this.rows = rows;
    this.draw();
  }

  /** Move the selection; the window follows it. */
  scrollBy(lines: number): void {
    this.selected += lines;
    this.draw();
  }

  /** Clamp selection and window to the rows, then give the table just the window. */
  draw(): void {
    const visible = this.pageSize;
    const last = Math.max(0, this.rows.length - 1);
    this.selected = Math.min(Math.max(0, this.selected), last);
    if (this.selected < this.offset) this.offset = this.selected;
    if (this.selected >= this.offset + visible) this.offset = this.selected - visible + 1;
    this.offset = Math.min(this.offset, Math.max(0, this.rows.length - visible));
    // Cells cut to their column here: contrib drops the spacing after a cell it has to cut.
    const widths = this.contrib.options.columnWidth;
    const now = this.now();
    const columns = this.model.columns;
    const window = this.rows
      .slice(this.offset, this.offset + visible)
      .map((row) => columns.map((c, i) => cellText(c.cell(row, now), widths[i] ?? c.width)));
    const headers = this.model.headers(widths).map((h) => blessed.escape(h));
    this.table.setData({ headers, data: window });
    const list = this.contrib.rows;
    list.select(this.selected - this.offset);
    this.pin();
  }

  private pin(): void {
    const list = this.contrib.rows;
    list.childBase = 0;
    list.childOffset = this.selected - this.offset;
  }

  private get contrib(): ContribTable {
    return this.table as unknown as ContribTable;
  }
}

/** Untrusted text in one cell: one line, cut to the column as drawn, then escaped for tags. */
function cellText(text: string, width: number): string {
  return blessed.escape(fitRow(sanitizeLine(text), width));
}
