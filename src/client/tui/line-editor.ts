/**
 * The text being typed in a field or the input line, with a cursor, and the input history.
 * Pure (no blessed) so the keys it understands are tested directly. Works on code points:
 * blessed delivers an emoji typed or pasted as two keypresses (its surrogate halves), which
 * we join back before inserting.
 */

export const MAX_HISTORY_ENTRIES = 200;

export interface EditKey {
  name?: string;
  ctrl?: boolean;
  meta?: boolean;
  full?: string;
}

export class LineEditor {
  private chars: string[] = [];
  private cursor = 0;
  private pendingHigh = '';
  /** `value` joined once per change, not once per read (a long line is read on every keypress). */
  private joined: string | null = '';

  constructor(initial = '') {
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

  /** Apply one keypress; returns true when it changed the text or the cursor. */
  handle(ch: string | undefined, key: EditKey): boolean {
    const changed = this.apply(ch, key);
    if (changed) this.joined = null;
    return changed;
  }

  private apply(ch: string | undefined, key: EditKey): boolean {
    switch (key.full ?? key.name ?? '') {
      case 'backspace':
        if (this.cursor === 0) return false;
        this.chars.splice(--this.cursor, 1);
        return true;
      case 'delete':
      case 'C-d':
        if (this.cursor >= this.chars.length) return false;
        this.chars.splice(this.cursor, 1);
        return true;
      case 'left':
        return this.move(this.cursor - 1);
      case 'right':
      case 'C-f':
        return this.move(this.cursor + 1);
      case 'home':
      case 'C-a':
        return this.move(0);
      case 'end':
      case 'C-e':
        return this.move(this.chars.length);
      case 'C-u':
        this.chars.splice(0, this.cursor);
        this.cursor = 0;
        return true;
      case 'C-k':
        this.chars.splice(this.cursor);
        return true;
    }
    if (!ch || key.ctrl || key.meta) return false;
    return this.insert(ch);
  }

  insert(text: string): boolean {
    this.joined = null;
    let s = this.pendingHigh + text;
    this.pendingHigh = '';
    const last = s.charCodeAt(s.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.pendingHigh = s.slice(-1);
      s = s.slice(0, -1);
    }
    // Printable text only: a control character typed or pasted never reaches the screen or the wire.
    const points = [...s].filter((c) => c >= ' ' && c !== '\u007f' && !(c >= '\u0080' && c < '\u00a0'));
    if (points.length === 0) return this.pendingHigh !== '';
    this.chars.splice(this.cursor, 0, ...points);
    this.cursor += points.length;
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
