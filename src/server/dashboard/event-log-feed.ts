/**
 * Event-log pane: the last EVENT_LOG_LINES server events, newest at the bottom. It is a
 * LogSink, fed by the same followServerEvents() as the headless JSON log, at the same
 * --log-level. Records wait in a bounded buffer and are worded once a frame, however many
 * arrived in between.
 *
 * Two states, so that a storm costs little to draw. FOLLOWING shows only the newest events
 * that fit, one row each (cut to the pane's width), so the box never scrolls: blessed
 * re-wraps a box's whole content when it changes, and every scroll of a labelled box draws
 * the entire screen outside our render loop. READING, entered by scrolling up, holds the
 * whole buffer with long lines wrapped, and stands still while the operator reads.
 */
import type { Widgets } from 'blessed';
import { levelEnabled, type LogLevel, type LogSink } from '../log.ts';
import { eventLine, eventText } from './event-text.ts';
import { Feed } from './feed.ts';
import type { Scrollable } from './windowed-table.ts';

export const EVENT_LOG_LINES = 500;
/** Border rows of the pane. */
const BOX_CHROME = 2;
/** Border columns and the scrollbar's: a row of the box's width minus only the border would wrap. */
const BOX_CHROME_COLUMNS = 3;

const ViewState = { FOLLOWING: 'following', READING: 'reading' } as const;
type ViewState = (typeof ViewState)[keyof typeof ViewState];

interface LogRecord {
  at: number;
  level: LogLevel;
  event: string;
  fields: object;
}

interface Line {
  at: number;
  level: LogLevel;
  text: string;
}

export class EventLogFeed extends Feed implements Scrollable {
  /** Worded lines, oldest first. */
  private lines: Line[] = [];
  /** Records not yet worded: that waits for the frame, so a storm words only what is kept. */
  private pending: LogRecord[] = [];
  private view: ViewState = ViewState.FOLLOWING;
  /** Events received, including those that already left the buffer. */
  received = 0;

  constructor(
    private readonly box: Widgets.BoxElement,
    private readonly threshold: LogLevel,
    requestFrame: () => void,
    private readonly now: () => number = Date.now,
  ) {
    super(requestFrame, [box]);
  }

  /** Bound, to be handed out as a LogSink. */
  readonly add: LogSink = (level, event, fields) => {
    if (!levelEnabled(level, this.threshold)) return;
    this.received += 1;
    this.pending.push({ at: this.now(), level, event, fields });
    if (this.pending.length > EVENT_LOG_LINES) this.pending.shift();
    this.markDirty();
  };

  get pageSize(): number {
    return Math.max(1, this.visibleRows - 1);
  }

  scrollBy(lines: number): void {
    if (this.view === ViewState.FOLLOWING) {
      if (lines >= 0) return; // already at the newest line
      this.view = ViewState.READING;
      this.takePending();
      this.box.setContent(this.lines.map((l) => eventLine(l.at, l.level, l.text)).join('\n'));
      this.box.setScrollPerc(100);
      this.invalidate(); // the label says so
    }
    this.box.scroll(lines);
    if (lines > 0 && this.box.getScroll() + this.visibleRows >= this.box.getScrollHeight()) {
      this.view = ViewState.FOLLOWING; // back at the bottom: follow again
      this.box.setScroll(0);
      this.invalidate();
    }
  }

  protected refresh(): void {
    this.takePending();
    const paused = this.view === ViewState.READING ? ' · paused, scroll down to follow' : '';
    this.box.setLabel(` Events ${this.received}${paused} `);
    if (this.view === ViewState.READING) return; // stand still while the operator reads
    const width = (this.box.width as number) - BOX_CHROME_COLUMNS;
    this.box.setContent(
      this.lines
        .slice(-this.visibleRows)
        .map((l) => eventLine(l.at, l.level, l.text, width))
        .join('\n'),
    );
  }

  private get visibleRows(): number {
    return Math.max(1, (this.box.height as number) - BOX_CHROME);
  }

  private takePending(): void {
    if (this.pending.length === 0) return;
    for (const r of this.pending) this.lines.push({ at: r.at, level: r.level, text: eventText(r.event, r.fields) });
    this.pending = [];
    if (this.lines.length > EVENT_LOG_LINES) this.lines = this.lines.slice(-EVENT_LOG_LINES);
  }
}
