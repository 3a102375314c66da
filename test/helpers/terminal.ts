/**
 * A terminal for in-process UI tests: fake TTY streams for blessed, rendered by @xterm/headless,
 * read back as text. The terminal's answers to queries go back into the input, as a real one.
 */
import { PassThrough, Writable } from 'node:stream';
import xterm from '@xterm/headless';
import { waitFor } from './wait.ts';

const { Terminal } = xterm;

export interface VirtualTerminal {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** The screen as lines of text (trailing spaces trimmed). */
  lines(): string[];
  text(): string;
  /** Wait until the screen matches, with a deadline; returns the screen text. */
  waitFor(pattern: RegExp | string, what?: string, timeoutMs?: number): Promise<string>;
  /** Foreground palette colour of the cell at column x, row y (-1 for the default colour). */
  fgColor(x: number, y: number): number;
  /** Stop reading the program's output (as a stalled ssh link), or read again. */
  stall(): void;
  unstall(): void;
  /** Type keys (raw bytes: '\t', '\x1b[A', 'q'). */
  press(keys: string): void;
  resize(cols: number, rows: number): void;
  dispose(): void;
}

/** Bytes of the keys tests press. */
export const KEY = {
  tab: '\t',
  shiftTab: '\x1b[Z',
  up: '\x1b[A',
  down: '\x1b[B',
  pageUp: '\x1b[5~',
  pageDown: '\x1b[6~',
  enter: '\r',
  escape: '\x1b',
  ctrlC: '\x03',
} as const;

export function matches(text: string, pattern: RegExp | string): boolean {
  return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
}

/** Read an xterm's visible screen. */
export function screenLines(term: InstanceType<typeof Terminal>): string[] {
  const buffer = term.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < term.rows; y++) lines.push(buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '');
  return lines;
}

export function createVirtualTerminal(cols = 120, rows = 40): VirtualTerminal {
  const term = new Terminal({ cols, rows, allowProposedApi: true });
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  let stalled: Array<() => void> | null = null;
  const output = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        const deliver = () => term.write(chunk, () => callback());
        if (stalled) stalled.push(deliver);
        else deliver();
      },
    }),
    { isTTY: true, columns: cols, rows },
  );
  const answer = term.onData((data) => input.write(data));
  const lines = () => screenLines(term);
  const text = () => lines().join('\n');
  return {
    input,
    output,
    lines,
    text,
    async waitFor(pattern, what, timeoutMs) {
      return waitFor(() => (matches(text(), pattern) ? text() : null), { what: what ?? String(pattern), timeoutMs, intervalMs: 25 }).catch(
        (err: Error) => {
          throw new Error(`${err.message}; screen now:\n${text()}`);
        },
      );
    },
    fgColor(x, y) {
      const cell = term.buffer.active.getLine(term.buffer.active.viewportY + y)?.getCell(x);
      return cell && !cell.isFgDefault() ? cell.getFgColor() : -1;
    },
    stall() {
      stalled ??= [];
    },
    unstall() {
      const held = stalled ?? [];
      stalled = null;
      for (const deliver of held) deliver();
    },
    press(keys) {
      input.write(keys);
    },
    resize(newCols, newRows) {
      term.resize(newCols, newRows);
      output.columns = newCols;
      output.rows = newRows;
      output.emit('resize');
    },
    dispose() {
      answer.dispose();
      term.dispose();
    },
  };
}
