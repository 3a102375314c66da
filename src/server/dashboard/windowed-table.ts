/**
 * A contrib table that only ever holds the rows it can show. blessed makes one element per
 * list item and renders every one of them each frame, so handing it ten thousand accounts
 * would make each frame cost as much as the server's work; here the table gets the visible
 * window, formatted on demand, and the selection and scrolling are kept in this class.
 */
import type { Widgets } from 'blessed';
import type contrib from 'blessed-contrib';
import { fitRow } from '../../term/unicode-width.ts';

/** contrib's table: border (2), header line and the blank line under it. */
const TABLE_CHROME_ROWS = 4;

/** Something the arrow and page keys move through (a table's selection, a log's scroll). */
export interface Scrollable {
  scrollBy(lines: number): void;
  /** Lines in one page of this pane. */
  readonly pageSize: number;
}

export class WindowedTable<T> implements Scrollable {
  private rows: readonly T[] = [];
  private selected = 0;
  private offset = 0;

  constructor(
    private readonly table: contrib.Widgets.TableElement,
    private readonly headers: readonly string[],
    private readonly format: (row: T) => string[],
  ) {}

  get pageSize(): number {
    return Math.max(1, (this.table.height as number) - TABLE_CHROME_ROWS);
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
    const widths = (this.table as unknown as { options: { columnWidth: number[] } }).options.columnWidth;
    const window = this.rows
      .slice(this.offset, this.offset + visible)
      .map((row) => this.format(row).map((cell, i) => fitRow(cell, widths[i] ?? cell.length)));
    this.table.setData({ headers: this.headers.map((h, i) => fitRow(h, widths[i] ?? h.length)), data: window });
    const list = (this.table as unknown as { rows: Widgets.ListElement }).rows;
    list.select(this.selected - this.offset);
  }
}
