/** The row of tabs above the messages: number, title, unread badge; the current one in reverse video. */
import blessed from 'blessed';
import { LAYOUT } from '../layout.ts';
import type { Tab } from '../tabs.ts';
import { fitCells, plainLine } from '../text.ts';

const TITLE_CELLS = 14;

export function tabLabel(tab: Tab, index: number): string {
  const badge = tab.unread > 0 ? ` (${tab.unread > 999 ? '999+' : tab.unread})` : '';
  const ended = tab.ended ? ' ended' : '';
  return `${index + 1} ${fitCells(tab.title, TITLE_CELLS)}${ended}${badge}`;
}

export class TabBar {
  readonly box: blessed.Widgets.BoxElement;

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({ parent, ...LAYOUT.tabBar, tags: true });
  }

  update(tabs: readonly Tab[], current: number): void {
    const parts = tabs.map((tab, i) => {
      const text = ` ${plainLine(tabLabel(tab, i))} `;
      if (i === current) return `{inverse}{bold}${text}{/bold}{/inverse}`;
      return tab.unread > 0 ? `{yellow-fg}{bold}${text}{/bold}{/yellow-fg}` : text;
    });
    this.box.setContent(parts.join('│'));
  }
}
