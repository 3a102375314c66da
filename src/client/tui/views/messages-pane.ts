/**
 * The current tab's lines. The pane wraps lines into rows itself (wrap.ts) and hands blessed
 * exactly the rows on screen, walking back from the bottom of the view: a tab with 10,000
 * lines redraws as fast as one with 10, and scrolling moves by rows, so every row of a long
 * message can be reached. Wrapped rows are cached per line and width.
 */
import blessed from 'blessed';
import { BLUR_BORDER, FOCUS_BORDER, LAYOUT } from '../layout.ts';
import { Delivery } from '../sources.ts';
import { firstUnread, FOLLOWING, isScrolled, LineKind, type ScrollAnchor, type Tab, type TabLine } from '../tabs.ts';
import { foldCase, matchRanges } from '../search.ts';
import { nickStyle } from '../nick-colors.ts';
import { clockTime, escapeTags, fitCells, oneLine, plainText as body } from '../text.ts';
import { textWidth } from '../../../term/unicode-width.ts';
import { wrapSpans, type Span } from '../wrap.ts';
import { styleOf } from '../../../term/element-style.ts';

const GRAY: Pick<Span, 'open' | 'close'> = { open: '{gray-fg}', close: '{/gray-fg}' };

const DELIVERY_SPAN: Record<Delivery, Span> = {
  [Delivery.SENDING]: { text: '…', ...GRAY },
  [Delivery.SENT]: { text: '✓ sent', ...GRAY },
  [Delivery.DELIVERED]: { text: '✓✓ delivered', open: '{green-fg}', close: '{/green-fg}' },
  [Delivery.FAILED]: { text: '✗ not delivered', open: '{red-fg}', close: '{/red-fg}' },
};

const MATCH: Pick<Span, 'open' | 'close'> = { open: '{black-fg}{yellow-bg}', close: '{/yellow-bg}{/black-fg}' };

/** `text` in `style`, with every occurrence of `highlight` (ignoring case) marked as a search match. */
function highlighted(text: string, style: Pick<Span, 'open' | 'close'>, highlight: string): Span[] {
  const ranges = matchRanges(text, highlight);
  if (ranges.length === 0) return [{ text, ...style }];
  const out: Span[] = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) out.push({ text: text.slice(at, start), ...style });
    out.push({ text: text.slice(start, end), ...MATCH });
    at = end;
  }
  if (at < text.length) out.push({ text: text.slice(at), ...style });
  return out;
}

/** One line as styled runs of plain text (wrapSpans escapes them for blessed); `highlight` marks search matches. */
export function lineSpans(line: TabLine, highlight = ''): Span[] {
  const time: Span = { text: `${clockTime(line.at)} `, ...GRAY };
  const text = body(line.text);
  switch (line.kind) {
    case LineKind.SYSTEM:
      return [
        time,
        { text: '-- ', open: '{yellow-fg}', close: '{/yellow-fg}' },
        ...highlighted(text, { open: '{yellow-fg}', close: '{/yellow-fg}' }, highlight),
      ];
    case LineKind.MARKER:
      return [{ text: `──── ${line.text} ────`, ...GRAY }];
    case LineKind.OWN: {
      const spans: Span[] = [time, { text: oneLine(line.from), ...nickStyle(line.from, true) }, { text: ': ' }];
      spans.push(...highlighted(text, {}, highlight));
      if (line.delivery) spans.push({ text: '  ' }, DELIVERY_SPAN[line.delivery]);
      return spans;
    }
    case LineKind.PEER:
    case LineKind.BROADCAST:
      return [
        time,
        { text: oneLine(line.from), ...nickStyle(line.from, false) },
        { text: ': ' },
        ...highlighted(text, {}, highlight),
      ];
  }
}

/** The row drawn above the first line that came while the user was in another tab. */
export function unreadMarker(width: number): string {
  const label = ' new since you left ';
  const side = Math.max(0, width - label.length);
  const left = Math.floor(side / 2);
  return `{red-fg}${'─'.repeat(left)}${label}${'─'.repeat(side - left)}{/red-fg}`;
}

/**
 * The pane's title, cut to `width` cells (a label wider than its border spills into the pane
 * below in blessed). The state ("typing…", "ended") is what changes, so it is kept whole and
 * the rest gives way: first the code, then the address, then the name is ellipsised.
 */
/** `files`: the transfers moving with this tab's peer, in words (PROTOCOL.md 6.7), or ''. */
export function paneTitle(tab: Tab, width = Number.POSITIVE_INFINITY, files = ''): string {
  // One space each side, and a border corner plus one dash of it left showing.
  const room = width - 2 - 3;
  if (!tab.session) return ` ${fitCells('Broadcasts: newest at the bottom', room)} `;
  const { peer, verificationCode } = tab.session;
  const moving = files ? ` · ${oneLine(files)}` : '';
  const state = (tab.ended ? ' · ended' : tab.peerTyping ? ' · typing…' : '') + moving;
  const user = oneLine(peer.user);
  const heads = [
    `${user} ${oneLine(peer.ip)} · code ${oneLine(verificationCode)}`,
    `${user} ${oneLine(peer.ip)}`,
    user,
  ];
  const head = heads.find((h) => textWidth(h + state) <= room) ?? fitCells(user, room - textWidth(state));
  return ` ${escapeTags(fitCells(head + state, Math.max(1, room)))} `;
}

interface Wrapped {
  width: number;
  delivery: Delivery | undefined;
  highlight: string;
  rows: string[];
}

export class MessagesPane {
  readonly box: blessed.Widgets.BoxElement;
  private shown = '';
  private readonly wrapped = new WeakMap<TabLine, Wrapped>();
  /** Search matches to mark while a search is open ('' for none). */
  private highlight = '';

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

  update(tab: Tab, focused: boolean, highlight = '', files = ''): void {
    this.highlight = highlight;
    styleOf(this.box).border = { fg: focused ? FOCUS_BORDER : BLUR_BORDER };
    this.box.setLabel(paneTitle(tab, this.box.width as number, files));
    const anchor = this.valid(tab, tab.scroll);
    const scrolled = isScrolled(anchor);
    const lines = this.rowsAbove(tab, anchor, scrolled ? this.rows - 1 : this.rows);
    if (tab.lines.length === 0) {
      lines.push(
        tab.session
          ? '{gray-fg}No messages yet. Type below and press Enter.{/gray-fg}'
          : '{gray-fg}No broadcasts yet. /broadcast <text> sends one to everyone.{/gray-fg}',
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
    // Only lines that match are drawn differently while searching: the others keep their cache.
    const highlight =
      this.highlight !== '' && foldCase(line.text).includes(foldCase(this.highlight)) ? this.highlight : '';
    const cached = this.wrapped.get(line);
    if (cached && cached.width === width && cached.delivery === line.delivery && cached.highlight === highlight)
      return cached.rows;
    const rows = wrapSpans(lineSpans(line, highlight), width);
    this.wrapped.set(line, { width, delivery: line.delivery, highlight, rows });
    return rows;
  }

  /** The rows of the line `lines` up from the newest, with the unread marker above the first unread one. */
  private rowsAt(tab: Tab, lines: number): string[] {
    const index = tab.lines.length - 1 - lines;
    const rows = this.rowsOf(tab.lines.at(index));
    return index === firstUnread(tab) ? [unreadMarker(this.width), ...rows] : rows;
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
      rows += this.rowsAt(tab, lines).length;
    }
    while (rows >= this.rowsAt(tab, lines).length && lines < count - 1) {
      rows -= this.rowsAt(tab, lines).length;
      lines += 1;
    }
    if (!isScrolled({ lines, rows })) return FOLLOWING;
    // Scrolled, the view holds one row less (the "newer below" line).
    const visible = this.rows - 1;
    if (this.rowsAbove(tab, { lines, rows }, visible).length >= visible) return { lines, rows };
    // Too high: put the oldest row at the top, or follow if everything fits.
    let total = 0;
    for (let i = 0; i < count; i++) total += this.rowsAt(tab, i).length;
    const below = total - visible;
    return below > 0 ? this.valid(tab, { lines: 0, rows: below }) : FOLLOWING;
  }

  /** Up to `want` rows ending at the anchor, oldest first. */
  private rowsAbove(tab: Tab, anchor: ScrollAnchor, want: number): string[] {
    const out: string[][] = [];
    let have = 0;
    for (let lines = anchor.lines; lines < tab.lines.length && have < want; lines++) {
      let rows = this.rowsAt(tab, lines);
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
