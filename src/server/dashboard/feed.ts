/**
 * What every pane's feed shares: it listens to the server and marks itself dirty; the
 * dashboard's render loop calls flush() once a frame, and only a dirty feed touches its
 * widgets. Feeds hold no server logic: they read state and format it.
 */
import type { Widgets } from 'blessed';

export abstract class Feed {
  private dirty = true;
  private subscriptions: Array<() => void> = [];
  private refreshedAt = -Infinity;

  /**
   * @param widgets what this feed draws into: a frame in which only some feeds changed
   *   renders only their widgets.
   * @param minIntervalMs a pane that is costly to rebuild (a sort over every account)
   *   refreshes at most this often, however often it is marked dirty.
   */
  constructor(
    private readonly requestFrame: () => void,
    readonly widgets: readonly Widgets.BlessedElement[],
    private readonly minIntervalMs = 0,
  ) {}

  get isDirty(): boolean {
    return this.dirty;
  }

  /**
   * Called by the render loop every frame, with the (possibly injected) clock the pane shows.
   * How often it may refresh is real elapsed time, whatever that clock says.
   */
  flush(now: number): void {
    if (!this.dirty) return;
    const elapsed = performance.now();
    if (elapsed - this.refreshedAt < this.minIntervalMs) {
      this.requestFrame(); // still dirty: try again next frame
      return;
    }
    this.dirty = false;
    this.refreshedAt = elapsed;
    this.refresh(now);
  }

  /** Called once a second; panes that show time (countdowns, uptime) mark themselves dirty. */
  tick(_now: number): void {}

  /** Redraw on the next frame, whatever changed and however recently (resize, a new filter). */
  invalidate(): void {
    this.refreshedAt = -Infinity;
    this.markDirty();
  }

  /** Stop listening to what follow() subscribed. */
  dispose(): void {
    for (const stop of this.subscriptions) stop();
    this.subscriptions = [];
  }

  /** Mark this feed dirty whenever `source` emits one of `events`, until dispose(). */
  protected follow<E extends string>(
    source: { on(event: E, fn: () => void): unknown; off(event: E, fn: () => void): unknown },
    events: readonly E[],
  ): void {
    const changed = () => this.markDirty();
    for (const event of events) source.on(event, changed);
    this.subscriptions.push(() => {
      for (const event of events) source.off(event, changed);
    });
  }

  protected markDirty(): void {
    this.dirty = true;
    this.requestFrame();
  }

  /** Bring the widget up to date. */
  protected abstract refresh(now: number): void;
}
