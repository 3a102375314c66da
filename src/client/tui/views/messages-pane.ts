/**
 * The current tab's lines. The pane wraps lines into rows itself (wrap.ts) and hands blessed
 * exactly the rows on screen, walking back from the bottom of the view: a tab with 10,000
 * lines redraws as fast as one with 10, and scrolling moves by rows, so every row of a long
 * message can be reached. Wrapped rows are cached per line and width.
 */
import blessed from 'blessed';
import { BLUR_BORDER, FOCUS_BORDER, LAYOUT } from '../layout.ts';
import { Delivery } from '../sources.ts';
import { FOLLOWING, isScrolled, LineKind, type ScrollAnchor, type Tab, type TabLine } from '../tabs.ts';
import { clockTime, oneLine, plainLine, plainText as body } from '../text.ts';
import { wrapSpans, type Span } from '../wrap.ts';
import { styleOf } from '../../../term/element-style.ts';

const GRAY: Pick<Span, 'open' | 'close'> = { open: '{gray-fg}', close: '{/gray-fg}' };

const DELIVERY_SPAN: Record<Delivery, Span> = {
  [Delivery.SENDING]: { text: '…', ...GRAY },
  [Delivery.SENT]: { text: '✓ sent', ...GRAY },
  [Delivery.DELIVERED]: { text: '✓✓ delivered', open: '{green-fg}', close: '{/green-fg}' },
  [Delivery.FAILED]: { text: '✗ not delivered', open: '{red-fg}', close: '{/red-fg}' },
};

/** One line as styled runs of plain text (wrapSpans escapes them for blessed). */
export function lineSpans(line: TabLine): Span[] {
  const time: Span = { text: `${clockTime(line.at)} `, ...GRAY };
  switch (line.kind) {
    case LineKind.SYSTEM:
      return [time, { text: `-- ${body(line.text)}`, open: '{yellow-fg}', close: '{/yellow-fg}' }];
    case LineKind.OWN: {
      const spans: Span[] = [
        time,
        { text: oneLine(line.from), open: '{cyan-fg}{bold}', close: '{/bold}{/cyan-fg}' },
        { text: `: ${body(line.text)}` },
      ];
      if (line.delivery) spans.push({ text: '  ' }, DELIVERY_SPAN[line.delivery]);
      return spans;
    }
    case LineKind.PEER:
    case LineKind.BROADCAST:
      return [time, { text: oneLine(line.from), open: '{bold}', close: '{/bold}' }, { text: `: ${body(line.text)}` }];
  }
}

/** `files`: the transfers moving with this tab's peer, in words (PROTOCOL.md 6.7), or ''. */
export function paneTitle(tab: Tab, files = ''): string {
  if (!tab.session) return ' Broadcasts: newest at the bottom ';
  const { peer, verificationCode } = tab.session;
  const state = tab.ended ? ' · ended' : tab.peerTyping ? ' · typing…' : '';
  const moving = files ? ` · ${plainLine(files)}` : '';
  return ` ${plainLine(peer.user)} ${plainLine(peer.ip)} · code ${plainLine(verificationCode)}${state}${moving} `;
}

interface Wrapped {
  width: number;
  delivery: Delivery | undefined;
  rows: string[];
}

export class MessagesPane {
  readonly box: blessed.Widgets.BoxElement;
  private shown = '';
  private readonly wrapped = new WeakMap<TabLine, Wrapped>();

  constructor(parent: blessed.Widgets.Node) {
    // Rows come wrapped and cut to the height: blessed neither wraps nor scrolls them.
    this.box = blessed.box({ parent, ...LAYOUT.messages, border: 'line', tags: true, wrap: false });
  }

  /** Rows inside the border. */
  get rows(): number {
    return Math.max(1, (this.box.height as number) - 2);
  }

  private get width(): number {
    return Math.max(1, (this.box.width as number) - 2);
  }

  update(tab: Tab, focused: boolean, files = ''): void {
    styleOf(this.box).border = { fg: focused ? FOCUS_BORDER : BLUR_BORDER };
    this.box.setLabel(paneTitle(tab, files));
    const anchor = this.valid(tab, tab.scroll);
    const scrolled = isScrolled(anchor);
    const lines = this.rowsAbove(tab, anchor, scrolled ? this.rows - 1 : this.rows);
    if (tab.lines.length === 0) {
      lines.push(
        tab.session
          ? '{gray-fg}No messages yet. Type below and press Enter.{/gray-fg}'
          : '{gray-fg}No broadcasts yet. Ctrl-B or /broadcast <text> sends one to everyone.{/gray-fg}',
      );
    }
    if (scrolled) lines.push(`{gray-fg}-- ${anchor.lines + (anchor.rows > 0 ? 1 : 0)} newer below: PgDn --{/gray-fg}`);
    const content = lines.join('\n');
    // blessed re-parses on every setContent; a keypress in the input line must not pay for that.
    if (content === this.shown) return;
    this.shown = content;
    this.box.setContent(content);
  }

  /** Where the view ends up `delta` rows further up (negative: down), kept within the lines. */
  scrolled(tab: Tab, delta: number): ScrollAnchor {
    const from = this.valid(tab, tab.scroll);
    return this.valid(tab, { lines: from.lines, rows: from.rows + delta });
  }

  private rowsOf(line: TabLine): string[] {
    const width = this.width;
    const cached = this.wrapped.get(line);
    if (cached && cached.width === width && cached.delivery === line.delivery) return cached.rows;
    const rows = wrapSpans(lineSpans(line), width);
    this.wrapped.set(line, { width, delivery: line.delivery, rows });
    return rows;
  }

  /** Line `lines` up from the newest. */
  private lineAt(tab: Tab, lines: number): TabLine {
    return tab.lines.at(tab.lines.length - 1 - lines);
  }

  /**
   * The anchor brought within the lines (rows carried into whole lines), and no higher than
   * where the oldest row is at the top of the view: scrolling up stops at the start.
   */
  private valid(tab: Tab, anchor: ScrollAnchor): ScrollAnchor {
    const count = tab.lines.length;
    if (count === 0) return FOLLOWING;
    let lines = Math.min(Math.max(0, anchor.lines), count - 1);
    let rows = anchor.rows;
    while (rows < 0) {
      if (lines === 0) return FOLLOWING;
      lines -= 1;
      rows += this.rowsOf(this.lineAt(tab, lines)).length;
    }
    while (rows >= this.rowsOf(this.lineAt(tab, lines)).length && lines < count - 1) {
      rows -= this.rowsOf(this.lineAt(tab, lines)).length;
      lines += 1;
    }
    if (!isScrolled({ lines, rows })) return FOLLOWING;
    // Scrolled, the view holds one row less (the "newer below" line).
    const visible = this.rows - 1;
    if (this.rowsAbove(tab, { lines, rows }, visible).length >= visible) return { lines, rows };
    // Too high: put the oldest row at the top, or follow if everything fits.
    let total = 0;
    for (let i = 0; i < count; i++) total += this.rowsOf(tab.lines.at(i)).length;
    const below = total - visible;
    return below > 0 ? this.valid(tab, { lines: 0, rows: below }) : FOLLOWING;
  }

  /** Up to `want` rows ending at the anchor, oldest first. */
  private rowsAbove(tab: Tab, anchor: ScrollAnchor, want: number): string[] {
    const out: string[][] = [];
    let have = 0;
    for (let lines = anchor.lines; lines < tab.lines.length && have < want; lines++) {
      let rows = this.rowsOf(this.lineAt(tab, lines));
      if (lines === anchor.lines && anchor.rows > 0) rows = rows.slice(0, Math.max(0, rows.length - anchor.rows));
      out.push(rows);
      have += rows.length;
    }
    return out
      .reverse()
      .flat()
      .slice(Math.max(0, have - want));
  }
}
