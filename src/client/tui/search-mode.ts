/**
 * The search mode of the main screen (keymap scope 'search'): while it is open the input line
 * holds the query, every key edits it or steps through the matches, and the messages pane
 * marks them. Enter leaves with the view at the match; Esc leaves and goes back to the
 * newest line. The search itself (what matches, which is current) is TabSearch.
 */
import { Action, actionFor } from './keymap.ts';
import type { EditKey } from './line-editor.ts';
import { TabSearch } from './search.ts';
import { FOLLOWING, type ScrollAnchor, type Tab } from './tabs.ts';

export interface SearchHost {
  setScroll(tab: Tab, anchor: ScrollAnchor): void;
}

export class SearchMode {
  private search: TabSearch | null = null;

  constructor(private readonly host: SearchHost) {}

  get active(): TabSearch | null {
    return this.search;
  }

  /** Open a search in `tab` (again: start over), with `query` typed in already. */
  open(tab: Tab, query = ''): void {
    this.search = new TabSearch(tab);
    this.search.setQuery(query);
    this.show();
  }

  /** Leave without moving the view (the tab was left or closed). */
  close(): void {
    this.search = null;
  }

  /** The tab got or lost lines: match again, keep the current match in view. */
  refresh(tab: Tab): void {
    if (this.search?.tab !== tab) return;
    this.search.refresh();
  }

  /** One key while searching; false when it is not the search's (the caller handles it). */
  handleKey(ch: string | undefined, key: EditKey): boolean {
    const search = this.search;
    if (!search) return false;
    const action = actionFor('search', key.full ?? key.name ?? '');
    if (action === Action.SEARCH_OLDER || action === Action.SEARCH_NEWER) {
      search.step(action === Action.SEARCH_OLDER ? 1 : -1);
      this.show();
      return true;
    }
    if (action === Action.SEARCH_DONE || action === Action.SEARCH_CANCEL) {
      this.search = null;
      if (action === Action.SEARCH_CANCEL) this.host.setScroll(search.tab, FOLLOWING);
      return true;
    }
    if (!search.edit(ch, key)) return false;
    this.show();
    return true;
  }

  private show(): void {
    const search = this.search;
    const anchor = search?.anchor();
    if (search && anchor) this.host.setScroll(search.tab, anchor);
  }
}
