/**
 * The text being typed in a field or the input line, with a cursor, and the input history.
 * Pure (no blessed) so the keys it understands are tested directly. Keys are looked up in the
 * one key table (keymap.ts, scope 'editing'); the motions are in text-motion.ts.
 *
 * Text is kept as code points (blessed delivers an emoji as two keypresses, its surrogate
 * halves, which are joined back before inserting), and the cursor moves and deletes by
 * grapheme: Backspace after 👍🏽 takes the thumb and its skin tone together.
 */
import { Action, actionFor, type EditAction } from './keymap.ts';
import { graphemeAfter, graphemeBefore, isWordChar, cleanPaste } from './text-motion.ts';

export const MAX_HISTORY_ENTRIES = 200;

export interface EditKey {
  name?: string;
  ctrl?: boolean;
  meta?: boolean;
  full?: string;
}

/** What Ctrl-W, Ctrl-K, Ctrl-U and Alt-D deleted, for Ctrl-Y. One may be shared by several editors (the tabs' drafts). */
export class KillRing {
  text = '';
}

const KILLS: ReadonlySet<EditAction> = new Set<EditAction>([
  Action.KILL_WORD_BACK,
  Action.KILL_WORD_FORWARD,
  Action.KILL_TO_START,
  Action.KILL_TO_END,
]);

export class LineEditor {
  private chars: string[] = [];
  private cursor = 0;
  private pendingHigh = '';
  /** `value` joined once per change, not once per read (a long line is read on every keypress). */
  private joined: string | null = '';
  /** Readline appends consecutive kills into one entry, so Ctrl-W Ctrl-W Ctrl-Y restores both words. */
  private lastWasKill = false;
  private readonly kills: KillRing;
  private rowsCountedIn = '';
  private rows = 1;

  constructor(
    initial = '',
    private readonly options: { multiline?: boolean; kills?: KillRing } = {},
  ) {
    this.kills = options.kills ?? new KillRing();
    this.set(initial);
  }

  get value(): string {
    this.joined ??= this.chars.join('');
    return this.joined;
  }

  get isEmpty(): boolean {
    return this.chars.length === 0;
  }

  /** Cursor position in code points. */
  get position(): number {
    return this.cursor;
  }

  get codePoints(): readonly string[] {
    return this.chars;
  }

  set(value: string): void {
    this.joined = null;
    this.chars = [...value];
    this.cursor = this.chars.length;
    this.pendingHigh = '';
  }

  clear(): void {
    this.set('');
  }

  /** Replace the text and put the cursor at `cursor` (code points), as completion does. */
  load(value: string, cursor: number): void {
    this.set(value);
    this.cursor = Math.max(0, Math.min(this.chars.length, cursor));
  }

  /** Apply one keypress; returns true when it changed the text or the cursor. */
  handle(ch: string | undefined, key: EditKey): boolean {
    const action = actionFor('editing', key.full ?? key.name ?? '');
    const changed = action ? this.apply(action) : !!ch && !key.ctrl && !key.meta && this.insert(ch);
    this.lastWasKill = action !== undefined && KILLS.has(action);
    if (changed) this.joined = null;
    return changed;
  }

  /** One editing action of the key table (scope 'editing'). */
  apply(action: EditAction): boolean {
    const wasKill = this.lastWasKill;
    this.lastWasKill = false;
    switch (action) {
      case Action.NEWLINE:
        return this.options.multiline === true && this.splice(this.cursor, this.cursor, ['\n']);
      case Action.LINE_START:
        return this.move(this.lineStart());
      case Action.LINE_END:
        return this.move(this.lineEnd());
      case Action.CHAR_BACK:
        return this.move(this.cursor - graphemeBefore(this.chars, this.cursor));
      case Action.CHAR_FORWARD:
        return this.move(this.cursor + graphemeAfter(this.chars, this.cursor));
      case Action.WORD_BACK:
        return this.move(this.wordBack());
      case Action.WORD_FORWARD:
        return this.move(this.wordForward());
      case Action.DELETE_BACK:
        return this.splice(this.cursor - graphemeBefore(this.chars, this.cursor), this.cursor);
      case Action.DELETE_FORWARD:
        return this.splice(this.cursor, this.cursor + graphemeAfter(this.chars, this.cursor));
      case Action.KILL_WORD_BACK:
        return this.kill(this.wordBack(), this.cursor, wasKill, 'before');
      case Action.KILL_WORD_FORWARD:
        return this.kill(this.cursor, this.wordForward(), wasKill, 'after');
      case Action.KILL_TO_START:
        return this.kill(this.lineStart(), this.cursor, wasKill, 'before');
      case Action.KILL_TO_END:
        return this.kill(this.cursor, this.lineEnd(), wasKill, 'after');
      case Action.YANK:
        return this.kills.text !== '' && this.insertText(this.kills.text);
      case Action.TRANSPOSE:
        return this.transpose();
    }
  }

  /** Typed text: printable characters only (a control character typed never reaches the screen or the wire). */
  insert(text: string): boolean {
    this.joined = null;
    let s = this.pendingHigh + text;
    this.pendingHigh = '';
    const last = s.charCodeAt(s.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.pendingHigh = s.slice(-1);
      s = s.slice(0, -1);
    }
    const points = [...s].filter((c) => c >= ' ' && c !== '\u007f' && !(c >= '\u0080' && c < '\u00a0'));
    if (points.length === 0) return this.pendingHigh !== '';
    return this.splice(this.cursor, this.cursor, points);
  }

  /** Pasted text: newlines kept in a multi-line editor (folded to spaces otherwise), other controls dropped. */
  insertText(text: string): boolean {
    const clean = cleanPaste(text);
    const points = [...(this.options.multiline ? clean : clean.replace(/\n/g, ' '))];
    return points.length > 0 && this.splice(this.cursor, this.cursor, points);
  }

  /** Rows of a multi-line text: Up and Down move between them before walking the history. */
  get rowCount(): number {
    // Counted once per change (the input line asks on every redraw), from the joined text.
    const value = this.value;
    if (value !== this.rowsCountedIn) {
      this.rowsCountedIn = value;
      this.rows = value.split('\n').length;
    }
    return this.rows;
  }

  /** Move to the row above (-1) or below (1), keeping the column; false at the first/last row. */
  moveRow(step: -1 | 1): boolean {
    const start = this.lineStart();
    const column = this.cursor - start;
    if (step < 0) {
      if (start === 0) return false;
      const prevStart = this.lineStart(start - 1);
      this.cursor = Math.min(prevStart + column, start - 1);
    } else {
      const end = this.lineEnd();
      if (end >= this.chars.length) return false;
      const nextEnd = this.lineEnd(end + 1);
      this.cursor = Math.min(end + 1 + column, nextEnd);
    }
    return true;
  }

  private lineStart(from = this.cursor): number {
    let i = from;
    while (i > 0 && this.chars[i - 1] !== '\n') i--;
    return i;
  }

  private lineEnd(from = this.cursor): number {
    let i = from;
    while (i < this.chars.length && this.chars[i] !== '\n') i++;
    return i;
  }

  private wordBack(): number {
    let i = this.cursor;
    while (i > 0 && !isWordChar(this.chars[i - 1])) i--;
    while (i > 0 && isWordChar(this.chars[i - 1])) i--;
    return i;
  }

  private wordForward(): number {
    let i = this.cursor;
    while (i < this.chars.length && !isWordChar(this.chars[i])) i++;
    while (i < this.chars.length && isWordChar(this.chars[i])) i++;
    return i;
  }

  private kill(from: number, to: number, append: boolean, side: 'before' | 'after'): boolean {
    if (from >= to) return false;
    const text = this.chars.slice(from, to).join('');
    this.kills.text = !append ? text : side === 'before' ? text + this.kills.text : this.kills.text + text;
    this.splice(from, to);
    this.lastWasKill = true;
    return true;
  }

  private transpose(): boolean {
    // At the end of the line, swap the last two; elsewhere the one before the cursor with the one under it.
    let at = this.cursor;
    if (at >= this.chars.length || this.chars[at] === '\n') at -= graphemeBefore(this.chars, at);
    const before = graphemeBefore(this.chars, at);
    const after = graphemeAfter(this.chars, at);
    if (before === 0 || after === 0) return false;
    const left = this.chars.slice(at - before, at);
    const right = this.chars.slice(at, at + after);
    this.chars.splice(at - before, before + after, ...right, ...left);
    this.cursor = at + after;
    this.joined = null;
    return true;
  }

  /** Replace [from, to) with `points`, the cursor after them. */
  private splice(from: number, to: number, points: readonly string[] = []): boolean {
    if (from >= to && points.length === 0) return false;
    this.chars.splice(from, to - from, ...points);
    this.cursor = from + points.length;
    this.joined = null;
    return true;
  }

  private move(to: number): boolean {
    const next = Math.max(0, Math.min(this.chars.length, to));
    if (next === this.cursor) return false;
    this.cursor = next;
    return true;
  }
}

/** Up/Down through what was sent before, as a shell does; the line being typed is kept aside. */
export class InputHistory {
  private readonly entries: string[] = [];
  private index = 0;
  private draft = '';

  constructor(private readonly limit = MAX_HISTORY_ENTRIES) {}

  get size(): number {
    return this.entries.length;
  }

  push(line: string): void {
    if (line.trim() !== '' && this.entries[this.entries.length - 1] !== line) {
      this.entries.push(line);
      if (this.entries.length > this.limit) this.entries.shift();
    }
    this.index = this.entries.length;
    this.draft = '';
  }

  /** The entry before the current one, or null at the oldest. */
  previous(current: string): string | null {
    if (this.index === 0) return null;
    if (this.index === this.entries.length) this.draft = current;
    this.index -= 1;
    return this.entries[this.index] ?? null; // 0 <= index < length here
  }

  /** The entry after the current one; past the newest, the draft that was being typed. */
  next(): string | null {
    if (this.index >= this.entries.length) return null;
    this.index += 1;
    return this.index === this.entries.length ? this.draft : (this.entries[this.index] ?? null);
  }
}
