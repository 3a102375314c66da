/** Left pane: who is online, with their IP, and marks for open chats, pending requests and unread lines. */
import blessed from 'blessed';
import { BLUR_BORDER, FOCUS_BORDER, LAYOUT, USERS_WIDTH } from '../layout.ts';
import { fitCells, padCells, plainLine } from '../text.ts';
import { styleOf } from '../../../term/element-style.ts';

export interface UserRow {
  user: string;
  ip: string;
  self: boolean;
  hasTab: boolean;
  pending: boolean;
  unread: number;
  /** Away, with the reason ('' for none); null or absent when available (PROTOCOL.md 4.7). */
  away?: string | null;
}

const isAway = (row: UserRow): boolean => typeof row.away === 'string';

/** mark(1) unread(3) space name space ip: fits the inner width of the pane. */
const NAME_CELLS = 11;
const IP_CELLS = USERS_WIDTH - 2 - 1 - 3 - 1 - NAME_CELLS - 1;
export const MARK_TAB = '●';
export const MARK_PENDING = '?';
export const MARK_AWAY = 'z';

export function formatUserRow(row: UserRow): string {
  const mark = row.hasTab ? MARK_TAB : row.pending ? MARK_PENDING : isAway(row) ? MARK_AWAY : ' ';
  const unread = row.unread > 0 ? (row.unread > 99 ? '99+' : String(row.unread)).padStart(3) : '   ';
  const name = padCells(fitCells(row.self ? `${row.user}*` : row.user, NAME_CELLS), NAME_CELLS);
  return `${mark}${unread} ${name} ${fitCells(row.ip, IP_CELLS)}`;
}

export class UsersPane {
  readonly box: blessed.Widgets.BoxElement;
  private rows: UserRow[] = [];
  private selected = 0;
  private focused = false;

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({ parent, ...LAYOUT.users, border: 'line', tags: true, label: ' Users ' });
    this.draw();
  }

  get selectedUser(): UserRow | undefined {
    return this.rows[this.selected];
  }

  setRows(rows: UserRow[]): void {
    const keep = this.rows[this.selected]?.user;
    this.rows = rows;
    const again = keep === undefined ? -1 : rows.findIndex((r) => r.user === keep);
    this.selected = again >= 0 ? again : Math.min(this.selected, Math.max(0, rows.length - 1));
    this.draw();
  }

  setFocused(focused: boolean): void {
    this.focused = focused;
    this.draw();
  }

  move(delta: number): void {
    if (this.rows.length === 0) return;
    this.selected = Math.max(0, Math.min(this.rows.length - 1, this.selected + delta));
    this.draw();
  }

  private draw(): void {
    styleOf(this.box).border = { fg: this.focused ? FOCUS_BORDER : BLUR_BORDER };
    const away = this.rows.filter(isAway).length;
    this.box.setLabel(` Users (${this.rows.length}${away > 0 ? `, ${away} away` : ''}) `);
    const visible = Math.max(1, (this.box.height as number) - 2);
    const first = Math.max(0, Math.min(this.selected - visible + 1, this.rows.length - visible));
    const lines = this.rows.slice(Math.max(0, first), Math.max(0, first) + visible).map((row, i) => {
      const text = plainLine(formatUserRow(row));
      if (first + i === this.selected)
        return this.focused ? `{inverse}${text}{/inverse}` : `{underline}${text}{/underline}`;
      // Away users are dimmed, as weechat and irssi show them.
      return row.self || isAway(row) ? `{gray-fg}${text}{/gray-fg}` : text;
    });
    if (this.rows.length === 0) lines.push('{gray-fg}nobody online{/gray-fg}');
    this.box.setContent(lines.join('\n'));
  }
}
