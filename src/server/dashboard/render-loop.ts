/**
 * Throttled drawing: panes only mark themselves dirty; one timer draws at most one frame
 * every FRAME_INTERVAL_MS, and only when something is dirty. A login storm of thousands of
 * events a second therefore costs a few frames a second, not one frame an event.
 */

/** At most 4 frames a second: readable for a person, negligible for the server. */
export const FRAME_INTERVAL_MS = 250;

export class RenderLoop {
  private timer: NodeJS.Timeout | null = null;
  private lastFrameAt = 0;
  private stopped = false;
  frames = 0;

  constructor(
    private readonly drawFrame: () => void,
    private readonly intervalMs = FRAME_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Ask for a frame: the next one is drawn as soon as the interval allows. */
  request(): void {
    if (this.timer || this.stopped) return;
    const wait = Math.max(0, this.lastFrameAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => this.frame(), wait);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private frame(): void {
    this.timer = null;
    this.lastFrameAt = this.now();
    this.frames += 1;
    this.drawFrame();
  }
}
