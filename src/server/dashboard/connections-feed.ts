/**
 * Connections pane: the current number of TCP connections as a big number, and a line
 * chart of the last 10 minutes with two series, TCP sessions and UDP-alive sessions.
 */
import type { Widgets } from 'blessed';
import type contrib from 'blessed-contrib';
import type { ServerCore } from '../server.ts';
import { UdpPathState } from '../session.ts';
import { bigNumber } from './big-digits.ts';
import { Feed } from './feed.ts';
import { formatClock } from './format.ts';

export const CHART_WINDOW_MS = 10 * 60_000;
export const CHART_SAMPLE_MS = 5_000;
/** Samples kept: the window, plus the live point drawn at the right edge. */
export const CHART_POINTS = CHART_WINDOW_MS / CHART_SAMPLE_MS;
/** On a 10-minute chart a second is a hair's width: redraw it at most this often (it is the costly part). */
export const CHART_REDRAW_MS = 1_000;
/** The y axis never shrinks below this, so 0-1-0 does not fill the chart from floor to ceiling. */
const MIN_CHART_TOP = 5;
const CHART_HEADROOM = 1.25;
/** contrib's line chart: canvas = 4 x rows - 8 pixels, of which 11 under the plot (axis, labels). */
const CONTRIB_CANVAS_CHROME_PX = 8 + 11;
/** A braille text row is 4 pixels; a label every other row keeps them apart. */
const PX_PER_LABEL = 8;
const MAX_Y_LABELS = 5;
/** Below this many cells the chart's canvas would have no room for its axes. */
const MIN_CHART_COLS = 20;
const MIN_CHART_ROWS = 5;

export const CHART_SERIES = {
  tcp: { title: 'TCP sessions', color: 'cyan' },
  udp: { title: 'UDP alive', color: 'green' },
} as const;

export interface ConnectionCounts {
  /** Every TLS connection, logged in or not. */
  tcp: number;
  online: number;
  /** Logged-in sessions whose UDP path is alive (PROTOCOL.md section 5.3). */
  udpAlive: number;
  /** Relayed peer chats (PROTOCOL.md section 6.6). */
  relayed: number;
}

interface Sample extends ConnectionCounts {
  at: number;
}

/** Border and the one-space indent; border top and bottom. */
const PANE_CHROME_COLS = 3;
const PANE_CHROME_ROWS = 2;

/** Join items two spaces apart, starting a new line where the next would not fit. */
export function wrapWords(items: string[], width: number): string[] {
  const lines: string[] = [];
  for (const item of items) {
    const last = lines.length - 1;
    const line = lines[last];
    if (line !== undefined && line.length + 2 + item.length <= width) lines[last] = `${line}  ${item}`;
    else lines.push(item);
  }
  return lines;
}

const sameCounts = (a: ConnectionCounts, b: ConnectionCounts): boolean =>
  a.tcp === b.tcp && a.online === b.online && a.udpAlive === b.udpAlive && a.relayed === b.relayed;

/** Count the server's sessions; one pass, at most once a frame. */
export function countConnections(core: ServerCore): ConnectionCounts {
  let udpAlive = 0;
  for (const session of core.allSessions()) {
    if (session.isOnline && session.udp?.state === UdpPathState.ALIVE) udpAlive += 1;
  }
  return { tcp: core.connectionCount, online: core.presence.size, udpAlive, relayed: core.relay.circuitCount };
}

/**
 * contrib's canvas turns its whole pixel buffer into text on every screen render, even when
 * nothing was drawn since. Keep the last text, and redo it only after the chart was drawn.
 * Returns the function that says "drawn".
 */
function renderCanvasOnlyAfterDraw(chart: contrib.Widgets.LineElement): () => void {
  const widget = chart as unknown as { render(): unknown; _render(): unknown };
  const canvasRender = widget.render.bind(widget);
  const boxRender = widget._render.bind(widget); // blessed's Element render: draws the content it has
  let drawn = true;
  widget.render = () => {
    if (!drawn) return boxRender();
    drawn = false;
    return canvasRender();
  };
  return () => {
    drawn = true;
  };
}

export class ConnectionsFeed extends Feed {
  private readonly samples: Sample[] = [];
  private readonly chartDrawn: () => void;
  private chartDrawnAt = -Infinity;
  /** The counts the chart's live point shows. */
  private charted: ConnectionCounts | null = null;
  private current: ConnectionCounts;

  constructor(
    private readonly core: ServerCore,
    private readonly number: Widgets.BoxElement,
    private readonly chart: contrib.Widgets.LineElement,
    requestFrame: () => void,
    now: number,
  ) {
    super(requestFrame, [number, chart]);
    this.chartDrawn = renderCanvasOnlyAfterDraw(chart);
    this.current = countConnections(core);
    this.samples.push({ at: now, ...this.current });
    this.follow(core, ['connection', 'disconnect', 'login', 'logout', 'udp_path', 'relay_open', 'relay_closed']);
  }

  override tick(now: number): void {
    const last = this.samples[this.samples.length - 1];
    // The constructor takes the first sample and the oldest goes only when there are too many.
    if (last === undefined || now - last.at >= CHART_SAMPLE_MS) {
      this.samples.push({ at: now, ...countConnections(this.core) });
      if (this.samples.length > CHART_POINTS) this.samples.shift();
      this.chartDrawnAt = -Infinity;
      this.markDirty();
    } else if (this.charted && !sameCounts(this.charted, this.current)) {
      this.markDirty(); // a change the chart skipped (drawn less often than the number)
    }
  }

  protected refresh(now: number): void {
    this.current = countConnections(this.core);
    const { tcp, online, udpAlive, relayed } = this.current;
    const facts = [`TCP ${tcp}`, `online ${online}`, `UDP alive ${udpAlive}`, `relayed ${relayed}`];
    const factLines = wrapWords(facts, (this.number.width as number) - PANE_CHROME_COLS);
    const big = bigNumber(tcp);
    // A blank line between the number and the facts when the pane has the room.
    const gap = (this.number.height as number) - PANE_CHROME_ROWS >= big.length + 1 + factLines.length ? [''] : [];
    const lines = [...big, ...gap, ...factLines];
    this.number.setContent(lines.map((line) => ` ${line}`).join('\n'));
    if (performance.now() - this.chartDrawnAt >= CHART_REDRAW_MS) this.drawChart(now);
  }

  override invalidate(): void {
    this.chartDrawnAt = -Infinity;
    super.invalidate();
  }

  private drawChart(now: number): void {
    // The canvas is sized when the widget is attached (and re-attached on resize); a cell
    // too small for axes would make it draw garbage, so skip until the terminal grows.
    if (
      !(this.chart as { ctx?: unknown }).ctx ||
      (this.chart.width as number) < MIN_CHART_COLS ||
      (this.chart.height as number) < MIN_CHART_ROWS
    )
      return;
    const points = [...this.samples.slice(-(CHART_POINTS - 1)), { at: now, ...this.current }];
    const x = points.map((p, i) => (i === points.length - 1 ? 'now' : formatClock(p.at)));
    const top = Math.max(MIN_CHART_TOP, ...points.map((p) => p.tcp));
    // contrib writes a y label at every step's pixel row; two in one text row overwrite each
    // other (a flat 0 read "1" or "2"). As many labels as fit a text row apart, at whole steps.
    const plotPx = (this.chart.height as number) * 4 - CONTRIB_CANVAS_CHROME_PX;
    const labels = Math.max(1, Math.min(MAX_Y_LABELS, Math.floor(plotPx / PX_PER_LABEL)));
    const step = Math.ceil((top * CHART_HEADROOM) / labels);
    this.chart.options.numYLabels = labels;
    this.chart.options.maxY = step * labels;
    this.chart.setData([
      { title: CHART_SERIES.tcp.title, x, y: points.map((p) => p.tcp), style: { line: CHART_SERIES.tcp.color } },
      { title: CHART_SERIES.udp.title, x, y: points.map((p) => p.udpAlive), style: { line: CHART_SERIES.udp.color } },
    ]);
    this.chartDrawn();
    this.chartDrawnAt = performance.now(); // real time: the redraw limit is about cost, not the shown clock
    this.charted = this.current;
  }
}
