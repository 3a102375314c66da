/**
 * Event-log pane: the last EVENT_LOG_LINES server events, newest at the bottom. It is a
 * LogSink, fed by the same followServerEvents() as the headless JSON log, at the same
 * --log-level. Lines are kept in a bounded buffer and drawn once a frame, however many
 * events arrived in between.
 */
import type { Widgets } from 'blessed';
import { levelEnabled, type LogLevel, type LogSink } from '../log.ts';
import { eventLine } from './event-text.ts';
import { Feed } from './feed.ts';

export const EVENT_LOG_LINES = 500;

interface LogRecord {
  at: number;
  level: LogLevel;
  event: string;
  fields: object;
}

export class EventLogFeed extends Feed {
  /** Formatted lines, oldest first. */
  private readonly lines: string[] = [];
  /** Records not yet formatted: formatting waits for the frame, so a storm formats only what can be seen. */
  private pending: LogRecord[] = [];
  /** Events received, including those that already scrolled out of the buffer. */
  received = 0;

  constructor(
    private readonly box: Widgets.BoxElement,
    private readonly threshold: LogLevel,
    requestFrame: () => void,
    private readonly now: () => number = Date.now,
  ) {
    super(requestFrame);
  }

  /** Bound, to be handed out as a LogSink. */
  readonly add: LogSink = (level, event, fields) => {
    if (!levelEnabled(level, this.threshold)) return;
    this.received += 1;
    this.pending.push({ at: this.now(), level, event, fields });
    if (this.pending.length > EVENT_LOG_LINES) this.pending.shift();
    this.markDirty();
  };

  protected refresh(): void {
    for (const r of this.pending) this.lines.push(eventLine(r.at, r.level, r.event, r.fields));
    this.pending = [];
    if (this.lines.length > EVENT_LOG_LINES) this.lines.splice(0, this.lines.length - EVENT_LOG_LINES);
    // Follow the newest line unless the operator scrolled up to read something.
    const following = this.box.getScrollHeight() <= (this.box.height as number) || this.box.getScrollPerc() >= 100;
    this.box.setContent(this.lines.join('\n'));
    if (following) this.box.setScrollPerc(100);
    this.box.setLabel(` Events ${this.received} `);
  }
}
