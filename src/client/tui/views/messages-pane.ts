/**
 * The current tab's lines. Only the lines that can be on screen are handed to blessed (at
 * most one per row, since a line takes at least one row), so a tab with 10,000 lines
 * redraws as fast as one with 10: the cost of a keypress does not grow with the scrollback.
 */
import blessed from 'blessed';
import { BLUR_BORDER, FOCUS_BORDER, LAYOUT } from '../layout.ts';
import { Delivery } from '../sources.ts';
import { LineKind, type Tab, type TabLine } from '../tabs.ts';
import { clockTime, plain, plainLine } from '../text.ts';

const DELIVERY_TEXT: Record<Delivery, string> = {
  [Delivery.SENDING]: '{gray-fg}…{/gray-fg}',
  [Delivery.SENT]: '{gray-fg}✓ sent{/gray-fg}',
  [Delivery.DELIVERED]: '{green-fg}✓✓ delivered{/green-fg}',
  [Delivery.FAILED]: '{red-fg}✗ not delivered{/red-fg}',
};

export function formatLine(line: TabLine): string {
  const time = `{gray-fg}${clockTime(line.at)}{/gray-fg}`;
  switch (line.kind) {
    case LineKind.SYSTEM:
      return `${time} {yellow-fg}-- ${plain(line.text)}{/yellow-fg}`;
    case LineKind.OWN: {
      const state = line.delivery ? `  ${DELIVERY_TEXT[line.delivery]}` : '';
      return `${time} {cyan-fg}{bold}${plainLine(line.from)}{/bold}{/cyan-fg}: ${plain(line.text)}${state}`;
    }
    default:
      return `${time} {bold}${plainLine(line.from)}{/bold}: ${plain(line.text)}`;
  }
}

export function paneTitle(tab: Tab): string {
  if (!tab.session) return ' Broadcasts: newest at the bottom ';
  const { peer, verificationCode } = tab.session;
  const state = tab.ended ? ' · ended' : tab.peerTyping ? ' · typing…' : '';
  return ` ${plainLine(peer.user)} ${plainLine(peer.ip)} · code ${plainLine(verificationCode)}${state} `;
}

export class MessagesPane {
  readonly box: blessed.Widgets.BoxElement;
  private shown = '';

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({ parent, ...LAYOUT.messages, border: 'line', tags: true, scrollable: true, wrap: true });
  }

  get rows(): number {
    return Math.max(1, (this.box.height as number) - 2);
  }

  update(tab: Tab, focused: boolean): void {
    this.box.style.border = { fg: focused ? FOCUS_BORDER : BLUR_BORDER };
    this.box.setLabel(paneTitle(tab));
    const end = tab.lines.length - tab.scroll;
    const lines = tab.lines.slice(end - this.rows, end).map(formatLine);
    if (tab.lines.length === 0) {
      lines.push(tab.session ? '{gray-fg}No messages yet. Type below and press Enter.{/gray-fg}' : '{gray-fg}No broadcasts yet. Ctrl-B or /broadcast <text> sends one to everyone.{/gray-fg}');
    }
    if (tab.scroll > 0) lines.push(`{gray-fg}-- ${tab.scroll} newer below: PgDn --{/gray-fg}`);
    const content = lines.join('\n');
    // blessed re-parses and re-wraps on every setContent; a keypress in the input line must not pay for that.
    if (content === this.shown && this.box.getScrollHeight() > 0) return;
    this.shown = content;
    this.box.setContent(content);
    // Wrapped lines may overflow the rows: show the bottom, where the newest are.
    this.box.setScrollPerc(100);
  }
}
