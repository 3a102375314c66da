/**
 * Search in the current tab (Ctrl-R or `/search text`), as in a shell's reverse search: the
 * query is typed in its own editor, every line whose text holds it is a match, the newest
 * match comes first and Ctrl-R steps to older ones (Ctrl-S back to newer). The view is put
 * with the current match on its bottom row. Pure (no blessed): the main screen draws it.
 *
 * Matches are found again on every change of the query or of the tab (at most
 * MAX_TAB_LINES case-folded `includes`), and the current match is kept by line, not by
 * index, so lines arriving or falling off the scrollback do not move it.
 */
import { LineEditor, type EditKey } from './line-editor.ts';
import type { ScrollAnchor, Tab, TabLine } from './tabs.ts';

/** Case-folded once here, so the view highlights exactly what matched. */
export function foldCase(text: string): string {
  return text.toLocaleLowerCase();
}

/** Start and end (UTF-16 offsets) of each occurrence of `query` in `text`, ignoring case. */
export function matchRanges(text: string, query: string): Array<[number, number]> {
  if (query === '') return [];
  const folded = foldCase(text);
  const needle = foldCase(query);
  // Folding can change lengths (rare, e.g. 'İ'): then offsets would not line up, so no highlight.
  if (folded.length !== text.length) return [];
  const out: Array<[number, number]> = [];
  for (let i = folded.indexOf(needle); i >= 0; i = folded.indexOf(needle, i + needle.length))
    out.push([i, i + needle.length]);
  return out;
}

export class TabSearch {
  readonly editor = new LineEditor();
  /** Matching lines, oldest first. */
  private matches: TabLine[] = [];
  private current: TabLine | null = null;

  constructor(readonly tab: Tab) {}

  get query(): string {
    return this.editor.value;
  }

  get count(): number {
    return this.matches.length;
  }

  /** 1 for the newest match, `count` for the oldest; 0 when there is none. */
  get position(): number {
    const i = this.current ? this.matches.indexOf(this.current) : -1;
    return i < 0 ? 0 : this.matches.length - i;
  }

  /** "3/12", or "no match". */
  get summary(): string {
    if (this.query === '') return 'type to search';
    return this.count === 0 ? 'no match' : `${this.position}/${this.count}`;
  }

  /** A key for the query: true when it changed the query (the matches are found again). */
  edit(ch: string | undefined, key: EditKey): boolean {
    if (!this.editor.handle(ch, key)) return false;
    this.current = null;
    this.refresh();
    return true;
  }

  setQuery(query: string): void {
    this.editor.set(query);
    this.current = null;
    this.refresh();
  }

  /** Find the matches again (the tab changed); the current match stays if it is still there. */
  refresh(): void {
    const lines = this.tab.lines;
    const query = foldCase(this.query);
    this.matches = [];
    if (query !== '')
      for (let i = 0; i < lines.length; i++) {
        const line = lines.at(i);
        if (foldCase(line.text).includes(query)) this.matches.push(line);
      }
    if (!this.current || !this.matches.includes(this.current)) this.current = this.matches.at(-1) ?? null;
  }

  /** Step to an older (1) or newer (-1) match; stops at either end. */
  step(direction: 1 | -1): void {
    if (!this.current) return;
    const i = this.matches.indexOf(this.current) - direction;
    this.current = this.matches[Math.max(0, Math.min(this.matches.length - 1, i))] ?? this.current;
  }

  /** Where the view goes to show the current match on its bottom row; null with no match. */
  anchor(): ScrollAnchor | null {
    if (!this.current) return null;
    const lines = this.tab.lines;
    for (let up = 0; up < lines.length; up++)
      if (lines.at(lines.length - 1 - up) === this.current) return { lines: up, rows: 0 };
    return null;
  }
}
