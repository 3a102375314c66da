/**
 * The server ops dashboard: a view over a running server's state and events. It creates the
 * screen on the streams it is given (a real terminal from main.ts; fake TTY streams in tests),
 * lays out the panes, starts one feed per pane, and draws through one throttled render loop.
 * It changes nothing on the server: stopping is main.ts's job, asked for through onQuit.
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import { styleOf } from '../../term/element-style.ts';
import { patchBlessedWidths } from '../../term/unicode-width.ts';
import type { ServerApp } from '../app.ts';
import { followServerEvents, type LogLevel, type LogSink } from '../log.ts';
import type { ServerBroadcastQueueView } from './broadcast-queue-view.ts';
import type { BroadcastQueueView } from './broadcasts-feed.ts';
import { clusterView } from './cluster-view.ts';
import { captureConsole } from './console-capture.ts';
import { levelForKey, type EventLogFeed } from './event-log-feed.ts';
import type { Feed } from './feed.ts';
import { createFeeds } from './feeds.ts';
import { BACK_KEYS, CANCEL_KEYS, CONFIRM_KEYS, DashboardAction, actionFor } from './keys.ts';
import { BORDER_COLOR, FOCUS_COLOR, MIN_COLS, MIN_ROWS, buildLayout, type Layout } from './layout.ts';
import { DetailView } from './detail-view.ts';
import { buildPanes, readFilter, type Pane } from './panes.ts';
import { RenderLoop } from './render-loop.ts';
import { flushed, isBacklogged, makeNonBlocking } from './terminal-output.ts';
import { CONFIRM_CONTENT, helpContent, STOPPING_CONTENT, tooSmallContent } from './messages.ts';
import type { UsersFeed } from './users-feed.ts';
import type { Scrollable } from './windowed-table.ts';

/** Countdowns, uptime and the chart's samples move once a second. */

export const TICK_MS = 1_000;
const DEFAULT_TERMINAL = 'xterm-256color';

export const DashboardMode = {
  NORMAL: 'normal',
  FILTER: 'filter',
  HELP: 'help',
  DETAIL: 'detail',
  CONFIRM: 'confirm',
  STOPPING: 'stopping',
} as const;
export type DashboardMode = (typeof DashboardMode)[keyof typeof DashboardMode];

export interface DashboardOptions {
  /** `cluster` (cluster mode): the node's link; the dashboard then shows the cluster too. */
  app: Pick<ServerApp, 'core' | 'listening' | 'identity' | 'dataDir'> & Partial<Pick<ServerApp, 'cluster'>>;
  /** Default: process.stdin / process.stdout. Tests pass fake TTY streams. */
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** TERM for blessed; default $TERM, else xterm-256color. */
  terminal?: string;
  /** The event pane shows events at this level and above (same meaning as --log-level). */
  logLevel?: LogLevel;
  /** What the broadcasts pane shows; default: the server's own queue. */
  broadcasts?: BroadcastQueueView;
  /** Route console.* into the event pane while the dashboard is up (main.ts; not in tests). */
  captureConsole?: boolean;
  /** The operator confirmed `q`: stop the server. */
  onQuit: () => void;
  now?: () => number;
}

export interface Dashboard {
  readonly screen: Widgets.Screen;
  readonly mode: DashboardMode;
  /** Frames drawn so far (for tests and the bench: proof of throttling). */
  readonly frames: number;
  /** Frames skipped because the terminal was not reading (see terminal-output.ts). */
  readonly skippedFrames: number;
  /** Add a record to the event pane (listening, shutdown, captured console output). */
  readonly log: LogSink;
  /** Show that the server is stopping; keys are ignored from now on. */
  showStopping(): void;
  /** Restore the terminal; resolves once the terminal has taken the last bytes (or a deadline passed). */
  destroy(): Promise<void>;
}

export function createDashboard(options: DashboardOptions): Dashboard {
  return new ServerDashboard(options);
}

class ServerDashboard implements Dashboard {
  readonly screen: Widgets.Screen;
  mode: DashboardMode = DashboardMode.NORMAL;
  private readonly layout: Layout;
  private readonly loop: RenderLoop;
  private readonly now: () => number;
  private readonly feeds: Feed[];
  private readonly users: UsersFeed;
  private readonly eventLog: EventLogFeed;
  /** The panes Tab moves between. */
  private readonly panes: Pane[];
  private readonly detail: DetailView;
  private readonly disposePanes: () => void;
  private focusIndex = 0;
  private tooSmall = false;
  private readonly tickTimer: NodeJS.Timeout;
  private readonly unfollow: () => void;
  private readonly serverQueue: ServerBroadcastQueueView | null;
  private readonly output: NodeJS.WritableStream;
  private waitingForDrain = false;
  private destroyed: Promise<void> | null = null;
  skippedFrames = 0;
  private framesDrawn = 0;
  /** Set by whatever changes more than a pane's content (keys, overlays, focus, resize). */
  private fullFramePending = true;

  constructor(private readonly options: DashboardOptions) {
    this.now = options.now ?? Date.now;
    const { core, identity } = options.app;
    const link = options.app.cluster ?? null;
    const cluster = link ? clusterView(link, core.presence) : undefined;
    this.output = options.output ?? process.stdout;
    makeNonBlocking(this.output);
    patchBlessedWidths(); // emoji take two cells, as in the client
    this.screen = blessed.screen({
      input: options.input,
      output: this.output,
      terminal: options.terminal ?? process.env.TERM ?? DEFAULT_TERMINAL,
      fullUnicode: true,
      smartCSR: true,
      autoPadding: true,
      warnings: false,
      title: link ? `p2p-server ${link.nodeId}` : 'p2p-server',
    } as unknown as Widgets.IScreenOptions); // @types/blessed types output as a Readable
    this.layout = buildLayout(this.screen, { cluster: cluster !== undefined });
    this.loop = new RenderLoop(() => this.frame());
    const request = () => this.loop.request();
    const l = this.layout;
    const feeds = createFeeds(
      options.app,
      l,
      request,
      this.now,
      options.logLevel ?? 'info',
      options.broadcasts,
      cluster,
    );
    ({ users: this.users, eventLog: this.eventLog, serverQueue: this.serverQueue } = feeds);
    const broadcasts = feeds.broadcasts;
    this.feeds = feeds.all;
    this.unfollow = followServerEvents(core, this.eventLog.add, options.logLevel ?? 'info');
    this.detail = new DetailView(l.detail);
    const built = buildPanes({
      core,
      layout: l,
      users: this.users,
      broadcasts,
      events: this.eventLog,
      ownQueue: this.serverQueue !== null,
    });
    this.panes = built.panes;
    this.disposePanes = built.dispose;
    l.help.setContent(helpContent(identity.fingerprint));

    if (options.captureConsole) this.screen.on('destroy', captureConsole(this.eventLog.add));
    this.screen.on('keypress', (_ch: string, key: Widgets.Events.IKeyEventArg) => this.onKey(key.full));
    this.screen.on('resize', () => this.onResize());
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.focusPane(0);
    this.onResize();
  }

  get frames(): number {
    return this.framesDrawn;
  }

  get log(): LogSink {
    return this.eventLog.add;
  }

  showStopping(): void {
    if (this.destroyed) return;
    this.mode = DashboardMode.STOPPING;
    this.layout.help.hide();
    this.layout.filter.hide();
    this.layout.confirm.setLabel(' Stopping ');
    this.layout.confirm.setContent(STOPPING_CONTENT);
    this.layout.confirm.show();
    this.requestFullFrame();
  }

  destroy(): Promise<void> {
    if (this.destroyed) return this.destroyed;
    this.loop.stop();
    clearInterval(this.tickTimer);
    this.unfollow();
    this.disposePanes();
    for (const feed of this.feeds) feed.dispose();
    this.serverQueue?.dispose();
    this.screen.destroy();
    this.destroyed = flushed(this.output);
    return this.destroyed;
  }

  private tick(): void {
    const now = this.now();
    for (const feed of this.feeds) feed.tick(now);
    if (this.mode === DashboardMode.DETAIL) {
      this.detail.refresh(now);
      this.requestFullFrame();
    }
  }

  /**
   * One frame: only dirty feeds touch their widgets. Usually only those widgets are rendered
   * and only their lines written (the once-a-second footer is a few lines, not the screen);
   * anything that changes more than a pane's content asks for a full frame instead.
   */
  private frame(): void {
    if (this.destroyed) return;
    if (isBacklogged(this.output)) {
      // The terminal is not reading: draw nothing (the panes stay dirty) until it drains.
      this.skippedFrames += 1;
      if (!this.waitingForDrain) {
        this.waitingForDrain = true;
        this.output.once('drain', () => {
          this.waitingForDrain = false;
          this.requestFullFrame();
        });
      }
      return;
    }
    const changed = this.tooSmall ? [] : this.feeds.filter((feed) => feed.isDirty);
    const now = this.now();
    for (const feed of changed) feed.flush(now);
    if (this.fullFramePending || this.tooSmall || this.mode !== DashboardMode.NORMAL) {
      this.fullFramePending = false;
      this.screen.render();
    } else {
      this.renderOnly(changed.flatMap((feed) => feed.widgets));
    }
    this.framesDrawn += 1;
  }

  /** Render these widgets and write out just their lines; nothing overlaps them in NORMAL mode. */
  private renderOnly(widgets: readonly Widgets.BlessedElement[]): void {
    let top = Infinity;
    let bottom = -Infinity;
    for (const widget of widgets) {
      widget.render();
      // Where it was drawn; not render()'s return value, which contrib's widgets drop.
      const coords = widget.lpos;
      if (!coords) continue;
      top = Math.min(top, coords.yi);
      bottom = Math.max(bottom, coords.yl - 1);
    }
    if (bottom >= top) this.screen.draw(top, bottom);
  }

  private requestFullFrame(): void {
    this.fullFramePending = true;
    this.loop.request();
  }

  private onResize(): void {
    const cols = this.screen.width as number;
    const rows = this.screen.height as number;
    const l = this.layout;
    this.tooSmall = cols < MIN_COLS || rows < MIN_ROWS;
    if (this.tooSmall) {
      l.main.hide();
      l.footer.hide();
      l.tooSmall.setContent(tooSmallContent(cols, rows));
      l.tooSmall.show();
    } else {
      l.tooSmall.hide();
      l.main.show();
      l.footer.show();
      // contrib's canvas sizes itself only when attached: re-attach to fit the new size (as gtop does).
      l.chart.emit('attach');
      // contrib tables have fixed column widths: fit them to the panes' new width.
      for (const pane of this.panes) pane.table?.fit();
      for (const feed of this.feeds) feed.invalidate();
    }
    this.requestFullFrame();
  }

  private onKey(name: string): void {
    switch (this.mode) {
      case DashboardMode.STOPPING:
      case DashboardMode.FILTER: // the textbox has the keys while it reads
        return;
      case DashboardMode.HELP:
        this.layout.help.hide();
        this.mode = DashboardMode.NORMAL;
        this.requestFullFrame();
        return;
      case DashboardMode.DETAIL:
        this.onDetailKey(name);
        return;
      case DashboardMode.CONFIRM:
        if ((CONFIRM_KEYS as readonly string[]).includes(name)) {
          this.showStopping();
          this.options.onQuit();
        } else if ((CANCEL_KEYS as readonly string[]).includes(name)) {
          this.layout.confirm.hide();
          this.mode = DashboardMode.NORMAL;
          this.requestFullFrame();
        }
        return;
      case DashboardMode.NORMAL:
        this.runAction(actionFor(name), name);
    }
  }

  private onDetailKey(name: string): void {
    const action = actionFor(name);
    if ((BACK_KEYS as readonly string[]).includes(name)) {
      this.detail.close();
      this.mode = DashboardMode.NORMAL;
    } else if (action === DashboardAction.LINE_UP || action === DashboardAction.LINE_DOWN) {
      this.detail.scrollBy(action === DashboardAction.LINE_UP ? -1 : 1);
    } else if (action === DashboardAction.PAGE_UP || action === DashboardAction.PAGE_DOWN) {
      this.detail.scrollBy((action === DashboardAction.PAGE_UP ? -1 : 1) * this.detail.pageSize);
    } else if (action === DashboardAction.QUIT) {
      this.detail.close();
      this.runAction(action, name);
      return;
    } else return;
    this.requestFullFrame();
  }

  private runAction(action: DashboardAction | undefined, key: string): void {
    switch (action) {
      case DashboardAction.NEXT_PANE:
        this.focusPane(this.focusIndex + 1);
        break;
      case DashboardAction.PREVIOUS_PANE:
        this.focusPane(this.focusIndex - 1);
        break;
      case DashboardAction.LINE_UP:
        this.focused.scrollBy(-1);
        break;
      case DashboardAction.LINE_DOWN:
        this.focused.scrollBy(1);
        break;
      case DashboardAction.PAGE_UP:
        this.focused.scrollBy(-this.focused.pageSize);
        break;
      case DashboardAction.PAGE_DOWN:
        this.focused.scrollBy(this.focused.pageSize);
        break;
      case DashboardAction.FOLLOW:
        this.eventLog.followNewest();
        break;
      case DashboardAction.OPEN: {
        const source = this.focusedPane.open();
        if (!source) return;
        this.mode = DashboardMode.DETAIL;
        this.detail.open(source, this.now());
        break;
      }
      case DashboardAction.SORT_NEXT:
      case DashboardAction.SORT_REVERSE: {
        const table = this.focusedPane.table;
        if (!table) return; // the event log keeps time order
        if (action === DashboardAction.SORT_NEXT) table.model.nextSortColumn();
        else table.model.reverse();
        this.focusedPane.feed?.invalidate();
        break;
      }
      case DashboardAction.FILTER:
        this.readFilter();
        break;
      case DashboardAction.CLEAR_FILTER:
        if (!this.focusedPane.filter()) return;
        this.focusedPane.setFilter('');
        break;
      case DashboardAction.LEVEL: {
        const level = levelForKey(Number(key));
        if (!level) return;
        this.eventLog.setLevel(level);
        break;
      }
      case DashboardAction.TOGGLE_HELP:
        this.mode = DashboardMode.HELP;
        this.layout.help.show();
        this.layout.help.setFront();
        break;
      case DashboardAction.QUIT:
        this.mode = DashboardMode.CONFIRM;
        this.layout.confirm.setContent(CONFIRM_CONTENT);
        this.layout.confirm.show();
        this.layout.confirm.setFront();
        break;
      case undefined: // a key bound to nothing
        return;
    }
    this.requestFullFrame();
  }

  private focusPane(index: number): void {
    const count = this.panes.length;
    this.focusIndex = ((index % count) + count) % count;
    this.panes.forEach(({ widget }, i) => {
      const border = styleOf(widget).border; // every pane is made with one
      if (border) border.fg = i === this.focusIndex ? FOCUS_COLOR : BORDER_COLOR;
    });
    this.focusedPane.widget.focus();
  }

  private get focused(): Scrollable {
    return this.focusedPane.scroll;
  }

  // The panes are fixed in the constructor and focusIndex is always taken modulo their count.
  private get focusedPane(): (typeof this.panes)[number] {
    const pane = this.panes[this.focusIndex];
    if (pane === undefined) throw new RangeError(`no dashboard pane ${this.focusIndex} of ${this.panes.length}`);
    return pane;
  }

  private readFilter(): void {
    this.mode = DashboardMode.FILTER;
    readFilter(this.layout.filter, this.focusedPane, () => {
      this.focusPane(this.focusIndex);
      this.requestFullFrame();
      // The key that closed the prompt (Enter, Esc) is still being delivered to the screen:
      // back to the panes' keys only after it, or it would open a detail or clear the filter.
      setImmediate(() => {
        if (this.mode === DashboardMode.FILTER) this.mode = DashboardMode.NORMAL;
      });
    });
    this.requestFullFrame();
  }
}
