/**
 * Footer: where the server listens, its TLS fingerprint (operators read it out to users,
 * PROTOCOL.md section 3.5), and the process's health: uptime, memory, event-loop delay.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Widgets } from 'blessed';
import { shortFingerprint } from '../../net/tls.ts';
import { Feed } from './feed.ts';
import { formatBytes, formatUptime, safeText } from './format.ts';

/** Histogram resolution: finer costs timer wake-ups, coarser hides short stalls. */
const LOOP_DELAY_RESOLUTION_MS = 10;
/** The delay figures cover this much recent time, then start afresh. */
export const LOOP_DELAY_WINDOW_MS = 10_000;
const NS_PER_MS = 1e6;

export interface FooterInfo {
  host: string;
  tcpPort: number;
  udpPort: number;
  fingerprint: string;
  dataDir: string;
  startedAt: number;
}

export class FooterFeed extends Feed {
  private readonly loopDelay: IntervalHistogram;
  private windowStartedAt: number;
  private lastWindow = { p50: 0, p99: 0, max: 0 };

  constructor(
    private readonly info: FooterInfo,
    private readonly box: Widgets.BoxElement,
    requestFrame: () => void,
    now: number,
  ) {
    super(requestFrame, [box]);
    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    this.loopDelay.enable();
    this.windowStartedAt = now;
  }

  override tick(now: number): void {
    if (now - this.windowStartedAt >= LOOP_DELAY_WINDOW_MS) {
      this.lastWindow = this.readDelay();
      this.loopDelay.reset();
      this.windowStartedAt = now;
    }
    this.markDirty();
  }

  override dispose(): void {
    this.loopDelay.disable();
    super.dispose();
  }

  protected refresh(now: number): void {
    const { host, tcpPort, udpPort, fingerprint, dataDir, startedAt } = this.info;
    const memory = process.memoryUsage();
    // The current window until it has a few seconds in it, then the last complete one.
    const delay = this.loopDelay.count > 0 ? this.readDelay() : this.lastWindow;
    const ms = (v: number) => v.toFixed(1);
    const width = this.box.width as number;
    // Each line keeps to one row: a narrower terminal gets the shorter wording of a line.
    const fit = (...variants: string[]) =>
      variants.find((v) => plainWidth(v) <= width) ?? variants[variants.length - 1];
    this.box.setContent(
      [
        fit(
          ` {bold}Listening{/bold} ${safeText(host)}  TCP ${tcpPort}  UDP ${udpPort}   data ${safeText(dataDir)}`,
          ` {bold}Listening{/bold} ${safeText(host)}  TCP ${tcpPort}  UDP ${udpPort}`,
        ),
        fit(
          ` {bold}TLS{/bold} SHA-256 ${safeText(fingerprint)}`,
          ` {bold}TLS{/bold} SHA-256 ${safeText(shortFingerprint(fingerprint, 8))}  (whole: {bold}?{/bold})`,
        ),
        fit(
          ` {bold}Up{/bold} ${formatUptime(now - startedAt)}   rss ${formatBytes(memory.rss)}  heap ${formatBytes(memory.heapUsed)}` +
            `   event-loop delay p50 ${ms(delay.p50)} ms  p99 ${ms(delay.p99)} ms  max ${ms(delay.max)} ms` +
            `   {bold}?{/bold} help  {bold}q{/bold} quit`,
          ` {bold}Up{/bold} ${formatUptime(now - startedAt)}  rss ${formatBytes(memory.rss)}  loop p99 ${ms(delay.p99)} ms  {bold}?{/bold} help  {bold}q{/bold} quit`,
        ),
      ].join('\n'),
    );
  }

  private readDelay(): { p50: number; p99: number; max: number } {
    // The histogram counts from the timer's expected firing, so it includes the resolution; take it off.
    const excess = (ns: number) => Math.max(0, ns / NS_PER_MS - LOOP_DELAY_RESOLUTION_MS);
    return {
      p50: excess(this.loopDelay.percentile(50)),
      p99: excess(this.loopDelay.percentile(99)),
      max: excess(this.loopDelay.max),
    };
  }
}

/** Cells a tagged footer line takes once blessed has read its tags. */
function plainWidth(tagged: string): number {
  return tagged.replace(/\{\/?[a-z-]+\}/g, '').length;
}
