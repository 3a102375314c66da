/**
 * How the main screen is read (issue 13): moving the messages view (a line, a page, the top,
 * the newest), the search mode, and whether the user list is shown beside the messages or
 * folded away (from 100 columns it is shown; F2 flips that). The main screen routes the keys
 * here and asks what to draw; the view state itself lives in the tabs model.
 */
import { Action } from './keymap.ts';
import { applyLayout, usersShown } from './layout.ts';
import { SearchMode } from './search-mode.ts';
import type { TabSearch } from './search.ts';
import type { TabHistory } from './tab-history.ts';
import { FOLLOWING, isScrolled, type Tab, type TabsModel } from './tabs.ts';
import type { MessagesPane } from './views/messages-pane.ts';

export interface ReadingHost {
  readonly tabs: TabsModel;
  readonly messages: Pick<MessagesPane, 'rows' | 'scrolled'>;
  /** The terminal's width in cells now. */
  width(): number;
  /** Saved history to read older lines from at the top of a tab (none with --no-history). */
  readonly saved: Pick<TabHistory, 'loadOlder'> | null;
}

export type ScrollAction =
  | typeof Action.PAGE_UP
  | typeof Action.PAGE_DOWN
  | typeof Action.SCROLL_UP
  | typeof Action.SCROLL_DOWN
  | typeof Action.SCROLL_TOP
  | typeof Action.SCROLL_BOTTOM;

export class Reading {
  readonly search: SearchMode;
  private usersToggled = false;

  constructor(private readonly host: ReadingHost) {
    this.search = new SearchMode({ setScroll: (tab, anchor) => host.tabs.setScroll(tab, anchor) });
  }

  get usersVisible(): boolean {
    return usersShown(this.host.width(), this.usersToggled);
  }

  toggleUsers(): void {
    this.usersToggled = !this.usersToggled;
  }

  scroll(action: ScrollAction): void {
    const tab = this.host.tabs.current;
    // A page keeps one row of the last one in view; scrolled, a row shows "newer below".
    const pageRows = Math.max(1, this.host.messages.rows - 2);
    switch (action) {
      case Action.PAGE_UP:
        // Leaving the bottom, the view loses a row to "newer below": one more row keeps the overlap at one.
        return this.by(tab, isScrolled(tab.scroll) ? pageRows : pageRows + 1);
      case Action.PAGE_DOWN:
        return this.by(tab, -pageRows);
      case Action.SCROLL_UP:
        return this.by(tab, 1);
      case Action.SCROLL_DOWN:
        return this.by(tab, -1);
      case Action.SCROLL_TOP:
        // Past the oldest row: the pane brings the anchor back to where the oldest row is at the top.
        return this.by(tab, Number.MAX_SAFE_INTEGER);
      case Action.SCROLL_BOTTOM:
        return this.host.tabs.setScroll(tab, FOLLOWING);
    }
  }

  /**
   * Before drawing `tab`: lay the panes out for the width, and keep the search on the tab
   * it was opened in (another tab closes it) with its matches up to date.
   */
  prepare(tab: Tab, panes: Parameters<typeof applyLayout>[0]): TabSearch | null {
    applyLayout(panes, this.usersVisible);
    if (this.search.active && this.search.active.tab !== tab) this.search.close();
    this.search.refresh(tab);
    return this.search.active;
  }

  /** Up (positive) or down by screen rows; at the top of a tab, older saved lines are read in first. */
  private by(tab: Tab, rows: number): void {
    const { tabs, messages, saved } = this.host;
    const to = messages.scrolled(tab, rows);
    tabs.setScroll(tab, to);
    if (rows <= 0 || !saved || tab.savedBefore === 0) return;
    const higher = messages.scrolled(tab, 1);
    if (higher.lines !== to.lines || higher.rows !== to.rows) return; // not at the top yet
    // The anchor counts from the newest line, so lines put above leave the view where it is.
    void saved.loadOlder(tab).then((loaded) => {
      if (loaded && tabs.current === tab) tabs.setScroll(tab, messages.scrolled(tab, rows));
    });
  }
}

/** The input line's label while searching: the count and the keys. */
export function searchLabel(search: TabSearch): string {
  return `Search: ${search.summary}   Ctrl-R older  Ctrl-S newer  Enter stay  Esc back`;
}
