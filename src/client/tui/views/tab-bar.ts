/** The row of tabs above the messages: number, title, unread badge; the current one in reverse video. */
import blessed from 'blessed';
import { LAYOUT } from '../layout.ts';
import type { Tab } from '../tabs.ts';
import { fitCells, plainLine } from '../text.ts';
import { textWidth } from '../../../term/unicode-width.ts';

const TITLE_CELLS = 14;

/** Unread lines or a new chat: shown in yellow, and Alt-A goes there. */
const hasNews = (tab: Tab | undefined): boolean => !!tab && (tab.unread > 0 || tab.attention);

export function tabLabel(tab: Tab, index: number): string {
  const badge = tab.unread > 0 ? ` (${tab.unread > 999 ? '999+' : tab.unread})` : '';
  const ended = tab.ended ? ' ended' : '';
  // A chat opened in the background, not looked at yet.
  const fresh = tab.attention ? ' new' : '';
  return `${index + 1} ${fitCells(tab.title, TITLE_CELLS)}${ended}${fresh}${badge}`;
}

export class TabBar {
  readonly box: blessed.Widgets.BoxElement;

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({ parent, ...LAYOUT.tabBar, tags: true });
  }

  update(tabs: readonly Tab[], current: number): void {
    const labels = tabs.map((tab, i) => ` ${plainLine(tabLabel(tab, i))} `);
    const [first, last] = visibleRange(labels.map(textWidth), current, this.box.width as number);
    const parts = labels.slice(first, last + 1).map((text, k) => {
      const i = first + k;
      if (i === current) return `{inverse}{bold}${text}{/bold}{/inverse}`;
      return hasNews(tabs[i]) ? `{yellow-fg}{bold}${text}{/bold}{/yellow-fg}` : text;
    });
    // Tabs that do not fit are counted at the edge, in yellow when one of them has unread lines.
    const more = (hidden: readonly Tab[], text: string) =>
      hidden.length === 0 ? '' : hidden.some(hasNews) ? `{yellow-fg}{bold}${text}{/bold}{/yellow-fg}` : text;
    const left = more(tabs.slice(0, first), `‹${first} `);
    const right = more(tabs.slice(last + 1), ` ${tabs.length - 1 - last}›`);
    this.box.setContent(left + parts.join('│') + right);
  }
}

/** Room kept at each edge for a "‹3 " or " 3›" count of hidden tabs. */
const EDGE_CELLS = 5;

/**
 * The widest run of tabs around the current one that fits `width` cells (with the
 * separators, and room for the counts of hidden tabs): the current tab is always shown.
 */
export function visibleRange(widths: readonly number[], current: number, width: number): [number, number] {
  const total = widths.reduce((a, w) => a + w + 1, -1);
  if (total <= width) return [0, widths.length - 1];
  const room = width - 2 * EDGE_CELLS;
  // A width past either end reads as one that never fits, so the run stops growing there.
  const widthOf = (i: number): number => widths[i] ?? Infinity;
  let first = current;
  let last = current;
  let used = widthOf(current);
  for (let grew = true; grew;) {
    grew = false;
    if (used + 1 + widthOf(last + 1) <= room) {
      used += 1 + widthOf(++last);
      grew = true;
    }
    if (used + 1 + widthOf(first - 1) <= room) {
      used += 1 + widthOf(--first);
      grew = true;
    }
  }
  return [first, last];
}
