/**
 * Event-log pane: the last EVENT_LOG_LINES server events, newest at the bottom. It is a
 * LogSink, fed by the same followServerEvents() as the headless JSON log, at the same
 * --log-level. Records wait in a bounded buffer and are worded only when shown.
 *
 * The pane draws its own window of rows and never lets blessed scroll the box (blessed
 * re-wraps a box's whole content when it changes, and every scroll of a labelled box draws
 * the entire screen outside our render loop). A long event wraps onto further rows, indented
 * under its text, so every event reads in full. Two states: FOLLOWING shows the newest events
 * that fit; READING, entered by moving up, holds a selected event still while more arrive
 * (Enter opens it whole, with every field). The keys 1-4 show events from a level up, `/`
 * those whose text contains a string.
 */
import type { Widgets } from 'blessed';
import { LOG_LEVELS, levelEnabled, type LogLevel, type LogSink } from '../log.ts';
import { rowCost } from '../../term/unicode-width.ts';
import { eventLine, eventText, EVENT_PREFIX_CHARS } from './event-text.ts';
import { Feed } from './feed.ts';
import { safeText } from './format.ts';
import type { Scrollable } from './windowed-table.ts';

export const EVENT_LOG_LINES = 500;
/** Border rows of the pane. */
const BOX_CHROME = 2;
/** Border columns and one free column, as the tables leave. */
const BOX_CHROME_COLUMNS = 3;

const ViewState = { FOLLOWING: 'following', READING: 'reading' } as const;
type ViewState = (typeof ViewState)[keyof typeof ViewState];

/** One event as received: the detail view shows every field of it. */
export interface LogRecord {
  readonly seq: number;
  readonly at: number;
  readonly level: LogLevel;
  readonly event: string;
  readonly fields: object;
}

interface Shown extends LogRecord {
  /** Worded on first show (a storm words only what is looked at). */
  text?: string;
}

/**
 * Cut `text` into rows of at most `width` (as blessed counts a row), at spaces where it can:
 * every character appears once, in order.
 */
export function wrapRows(text: string, width: number): string[] {
  const rows: string[] = [];
  let row = '';
  let cost = 0;
  let lastSpace = -1;
  for (const ch of text) {
    const c = rowCost(ch);
    if (cost + c > width && row !== '') {
      if (lastSpace > 0 && ch !== ' ') {
        rows.push(row.slice(0, lastSpace));
        row = row.slice(lastSpace + 1);
        cost = rowCost(row);
      } else {
        rows.push(row);
        row = '';
        cost = 0;
        if (ch === ' ') continue;
      }
      lastSpace = -1;
    }
    if (ch === ' ') lastSpace = row.length;
    row += ch;
    cost += c;
  }
  if (row !== '' || rows.length === 0) rows.push(row);
  return rows;
}

export class EventLogFeed extends Feed implements Scrollable {
  private records: Shown[] = [];
  private view: ViewState = ViewState.FOLLOWING;
  /** READING: the selected record's seq, and the seq of the record at the top of the window. */
  private selectedSeq = -1;
  private topSeq = -1;
  private minLevel: LogLevel;
  private needle = '';
  private nextSeq = 0;
  /** Events received, including those that already left the buffer. */
  received = 0;

  constructor(
    private readonly box: Widgets.BoxElement,
    private readonly threshold: LogLevel,
    requestFrame: () => void,
    private readonly now: () => number = Date.now,
  ) {
    super(requestFrame, [box]);
    this.minLevel = threshold;
  }

  /** Bound, to be handed out as a LogSink. */
  readonly add: LogSink = (level, event, fields) => {
    if (!levelEnabled(level, this.threshold)) return;
    this.received += 1;
    this.records.push({ seq: this.nextSeq++, at: this.now(), level, event, fields });
    // Amortised: trim in one slice once the buffer is a quarter over.
    if (this.records.length > EVENT_LOG_LINES * 1.25) this.records = this.records.slice(-EVENT_LOG_LINES);
    this.markDirty(); // reading: only the count in the label moves
  };

  get filter(): string {
    return this.needle;
  }

  setFilter(text: string): void {
    this.needle = text;
    this.invalidate();
  }

  get level(): LogLevel {
    return this.minLevel;
  }

  /** Show events at `level` and above (never below the --log-level: those were not kept). */
  setLevel(level: LogLevel): void {
    this.minLevel = levelEnabled(level, this.threshold) ? level : this.threshold;
    this.invalidate();
  }

  get pageSize(): number {
    return Math.max(1, this.visibleRows - 1);
  }

  /** The event Enter opens: the selected one, or the newest shown when following. */
  get selected(): LogRecord | undefined {
    const shown = this.shown();
    if (this.view === ViewState.FOLLOWING) return shown[shown.length - 1];
    return shown.find((r) => r.seq === this.selectedSeq) ?? shown[shown.length - 1];
  }

  /** Every kept event shown now (level and filter), oldest first. */
  shown(): LogRecord[] {
    const needle = this.needle.trim().toLowerCase();
    return this.kept().filter(
      (r) => levelEnabled(r.level, this.minLevel) && (!needle || this.wording(r).toLowerCase().includes(needle)),
    );
  }

  scrollBy(lines: number): void {
    const shown = this.shown();
    if (shown.length === 0) return;
    const last = shown.length - 1;
    let index: number;
    if (this.view === ViewState.FOLLOWING) {
      if (lines >= 0) return; // already at the newest event
      this.view = ViewState.READING;
      index = last;
    } else {
      index = shown.findIndex((r) => r.seq === this.selectedSeq);
      if (index < 0) index = last;
    }
    index = Math.max(0, index + lines);
    if (index >= last && lines > 0) {
      this.view = ViewState.FOLLOWING; // back at the bottom: follow again
    } else {
      this.selectedSeq = shown[index]?.seq ?? -1;
    }
    this.invalidate();
  }

  protected refresh(): void {
    const shown = this.shown();
    this.drawLabel(shown.length);
    const width = Math.max(EVENT_PREFIX_CHARS + 1, (this.box.width as number) - BOX_CHROME_COLUMNS);
    const rows = this.visibleRows;
    const out: string[] = [];
    if (this.view === ViewState.FOLLOWING) {
      // The newest events that fit, whole rows from the bottom up.
      for (let i = shown.length - 1; i >= 0 && out.length < rows; i--) {
        const record = shown[i];
        if (record) out.unshift(...this.rowsOf(record, width, false));
      }
      this.box.setContent(out.slice(-rows).join('\n'));
      return;
    }
    let selected = shown.findIndex((r) => r.seq === this.selectedSeq);
    if (selected < 0) selected = shown.length - 1;
    let top = shown.findIndex((r) => r.seq === this.topSeq);
    if (top < 0 || top > selected) top = selected;
    // Move the window down until the selected event shows whole (or starts the window).
    const rowsFrom = (from: number) => {
      let used = 0;
      for (let i = from; i <= selected; i++) {
        const record = shown[i];
        if (record) used += wrapRows(this.wording(record), width - EVENT_PREFIX_CHARS).length;
      }
      return used;
    };
    while (top < selected && rowsFrom(top) > rows) top += 1;
    this.topSeq = shown[top]?.seq ?? -1;
    for (let i = top; i < shown.length && out.length < rows; i++) {
      const record = shown[i];
      if (record) out.push(...this.rowsOf(record, width, i === selected));
    }
    this.box.setContent(out.slice(0, rows).join('\n'));
  }

  private drawLabel(shown: number): void {
    const parts = [`Events ${this.received}`];
    if (shown !== this.kept().length) parts.push(`showing ${shown}`);
    if (this.minLevel !== this.threshold) parts.push(`${this.minLevel}+`);
    if (this.needle) parts.push(`filter "${this.needle}"`);
    if (this.view === ViewState.READING) parts.push('paused (End follows)');
    this.box.setLabel(` ${safeText(parts.join(' · '))} `);
  }

  /** Go back to following the newest events (End). */
  followNewest(): void {
    if (this.view === ViewState.FOLLOWING) return;
    this.view = ViewState.FOLLOWING;
    this.invalidate();
  }

  private rowsOf(record: Shown, width: number, selected: boolean): string[] {
    const body = wrapRows(this.wording(record), width - EVENT_PREFIX_CHARS);
    const indent = ' '.repeat(EVENT_PREFIX_CHARS);
    const rows = body.map((text, i) =>
      i === 0 ? eventLine(record.at, record.level, text) : `${indent}${safeText(text)}`,
    );
    return selected ? rows.map((row) => `{inverse}${row}{/inverse}`) : rows;
  }

  private wording(record: Shown): string {
    return (record.text ??= eventText(record.event, record.fields));
  }

  private kept(): Shown[] {
    return this.records.length > EVENT_LOG_LINES ? this.records.slice(-EVENT_LOG_LINES) : this.records;
  }

  private get visibleRows(): number {
    return Math.max(1, (this.box.height as number) - BOX_CHROME);
  }
}

/** The level keys 1-4 pick, in LOG_LEVELS order (debug, info, warn, error). */
export const levelForKey = (n: number): LogLevel | undefined => LOG_LEVELS[n - 1];
