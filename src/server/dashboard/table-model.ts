/**
 * What a dashboard table shows, apart from drawing it: its columns (title, width, how each
 * sorts), the sort the operator picked (`s` / `S`) and the filter (`/`). Pure, so the order
 * and the widths are tested without a screen; WindowedTable draws the result.
 */
import { fitRow, rowCost } from '../../term/unicode-width.ts';

export interface Column<T> {
  title: string;
  /** Cells as designed. */
  width: number;
  /** Never narrower than this (a date or a short id read whole); default `width`. */
  min?: number;
  /** Takes the pane's spare width, and gives it up first (a preview). At most one per table. */
  grow?: boolean;
  /** The cell's text, not yet escaped for blessed tags. */
  cell(row: T, now: number): string;
  /** Ascending order of this column. */
  compare(a: T, b: T): number;
}

/**
 * blessed-contrib's table pads a cell of width w to w + spacing - 1 characters (it joins an
 * array of `spacing` empties), so with spacing 2 one space separates two columns and one
 * follows the last: a row is sum(widths) + columns characters. It must fit its row exactly:
 * blessed wraps a list item that is one character too long at a space, and shows only the
 * first line (a preview cut to two words).
 */
export const COLUMN_SPACING = 2;
export const COLUMN_GAP = COLUMN_SPACING - 1;

/**
 * Widths that fill a table `inner` cells wide. The growing column (a preview) is worth more
 * than the others' spare cells: they give up cells, the roomiest first and never below their
 * minimum, until it has its designed width; then it takes whatever is left. Without a
 * growing column the roomiest columns shrink until the row fits. Never below a minimum: a
 * date or an id is read whole or not at all.
 */
export function fitColumns(
  columns: readonly Pick<Column<unknown>, 'width' | 'min' | 'grow'>[],
  inner: number,
): number[] {
  const widths = columns.map((c) => c.width);
  const mins = columns.map((c) => Math.min(c.min ?? c.width, c.width));
  const used = () => widths.reduce((sum, w) => sum + w + COLUMN_GAP, 0);
  const grow = columns.findIndex((c) => c.grow);
  const shrink = (except: number) => {
    for (let over = used() - inner; over > 0; over -= 1) {
      let roomiest = -1;
      let most = 0;
      for (let i = 0; i < widths.length; i++) {
        const room = (widths[i] ?? 0) - (mins[i] ?? 0);
        if (i !== except && room > most) [roomiest, most] = [i, room];
      }
      if (roomiest < 0) return;
      widths[roomiest] = (widths[roomiest] ?? 1) - 1;
    }
  };
  shrink(grow);
  if (grow >= 0) widths[grow] = Math.max(mins[grow] ?? 1, (widths[grow] ?? 0) + inner - used());
  return widths;
}

export const SORT_MARK = { ascending: '▲', descending: '▼' } as const;

/** A table's sort and filter; `null` column: the table's own default order. */
export class TableModel<T> {
  sortColumn: number | null = null;
  descending = false;
  filter = '';

  constructor(
    readonly columns: readonly Column<T>[],
    /** The order with no column picked. */
    private readonly defaultOrder: (a: T, b: T) => number,
    /** Does a row match a filter (lower-case, trimmed, not empty)? */
    private readonly matches: (row: T, needle: string) => boolean,
  ) {}

  /** `s`: sort by the next column (from the default order: the first). */
  nextSortColumn(): void {
    this.sortColumn = this.sortColumn === null ? 0 : (this.sortColumn + 1) % this.columns.length;
    this.descending = false;
  }

  /** `S`: reverse the order (the default order too). */
  reverse(): void {
    this.descending = !this.descending;
  }

  /** The rows to show: filtered, then sorted. Sorts a copy. */
  apply(rows: Iterable<T>): T[] {
    const needle = this.filter.trim().toLowerCase();
    const out: T[] = [];
    for (const row of rows) if (!needle || this.matches(row, needle)) out.push(row);
    const column = this.sortColumn === null ? undefined : this.columns[this.sortColumn];
    const compare = column ? column.compare.bind(column) : this.defaultOrder;
    const sign = this.descending ? -1 : 1;
    return out.sort((a, b) => sign * compare(a, b));
  }

  /** Header cells fit to `widths`, the sorted column marked ▲ or ▼ (kept when the title is cut). */
  headers(widths: readonly number[]): string[] {
    return this.columns.map((c, i) => {
      const width = widths[i] ?? c.width;
      if (i !== this.sortColumn) return fitRow(c.title, width);
      const mark = this.descending ? SORT_MARK.descending : SORT_MARK.ascending;
      const whole = `${c.title} ${mark}`;
      return rowCost(whole) <= width ? whole : `${fitRow(c.title, width - 1).replace(/…$/, '')}${mark}`;
    });
  }

  /** What the pane's label says about the order, e.g. "by Seen ▼". Empty for the default order. */
  describe(): string {
    const column = this.sortColumn === null ? undefined : this.columns[this.sortColumn];
    if (!column) return this.descending ? 'reversed' : '';
    return `by ${column.title} ${this.descending ? SORT_MARK.descending : SORT_MARK.ascending}`;
  }
}

/** Compare helpers for columns. */
export const byText = (a: string, b: string): number => a.localeCompare(b);
export const byNumber = (a: number, b: number): number => a - b;

/** "Users 3 of 40 · filter "ali" · by Seen ▼": a pane's label with its count, filter and order. */
export function tableLabel(
  name: string,
  shown: number,
  total: number,
  model: { filter: string; describe(): string },
): string {
  const parts = [`${name} ${shown === total ? total : `${shown} of ${total}`}`];
  if (model.filter) parts.push(`filter "${model.filter}"`);
  const order = model.describe();
  if (order) parts.push(order);
  return parts.join(' · ');
}
