/**
 * What every pane's feed shares: it listens to the server and marks itself dirty; the
 * dashboard's render loop calls flush() once a frame, and only a dirty feed touches its
 * widget. Feeds hold no server logic: they read state and format it.
 */
export abstract class Feed {
  private dirty = true;

  constructor(private readonly requestFrame: () => void) {}

  /** Called by the render loop every frame. */
  flush(now: number): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.refresh(now);
  }

  /** Called once a second; panes that show time (countdowns, uptime) mark themselves dirty. */
  tick(_now: number): void {}

  /** Mark dirty without waiting for a change (after a resize, or when un-hidden). */
  invalidate(): void {
    this.markDirty();
  }

  dispose(): void {}

  protected markDirty(): void {
    this.dirty = true;
    this.requestFrame();
  }

  /** Bring the widget up to date. */
  protected abstract refresh(now: number): void;
}
