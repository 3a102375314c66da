/**
 * Throttled drawing: panes only mark themselves dirty; one timer draws a frame when something
 * is dirty, at most every FRAME_INTERVAL_MS, and never more often than keeps drawing under
 * MAX_DRAW_SHARE of the event loop's time. A login storm of thousands of events a second
 * therefore costs a few frames a second, and a big or slow terminal costs fewer frames,
 * not a slower server.
 */

/** At most 4 frames a second: readable for a person. */
export const FRAME_INTERVAL_MS = 250;
/** Drawing may take at most this share of the time: a frame of 20 ms waits 400 ms for the next. */
export const MAX_DRAW_SHARE = 0.05;
/** Weight of the newest frame in the running estimate of a frame's cost. */
const COST_SMOOTHING = 0.3;

export class RenderLoop {
  private timer: NodeJS.Timeout | null = null;
  private lastFrameAt = -Infinity;
  private stopped = false;
  /** Running estimate of one frame's cost, ms. */
  frameCostMs = 0;
  frames = 0;

  constructor(
    private readonly drawFrame: () => void,
    private readonly intervalMs = FRAME_INTERVAL_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The gap between frame starts the current cost allows. */
  get gapMs(): number {
    return Math.max(this.intervalMs, this.frameCostMs / MAX_DRAW_SHARE);
  }

  /** Ask for a frame: the next one is drawn as soon as the interval allows. */
  request(): void {
    if (this.timer || this.stopped) return;
    const wait = Math.max(0, this.lastFrameAt + this.gapMs - this.now());
    this.timer = setTimeout(() => this.frame(), wait);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private frame(): void {
    this.timer = null;
    const started = this.now();
    this.lastFrameAt = started;
    this.frames += 1;
    this.drawFrame();
    const cost = this.now() - started;
    this.frameCostMs = this.frames === 1 ? cost : this.frameCostMs + COST_SMOOTHING * (cost - this.frameCostMs);
  }
}
