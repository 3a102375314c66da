/**
 * Reading a TUI back as a person would see it: output goes into an @xterm/headless terminal
 * (with Unicode 11 widths, as current terminals draw emoji), and the test polls its screen
 * text with a deadline. Used by the in-process view tests and by the e2e tests.
 */
import xterm from '@xterm/headless';
import unicode11 from '@xterm/addon-unicode11';
import { PassThrough, Writable } from 'node:stream';
import type { Widgets } from 'blessed';
import { waitFor } from './wait.ts';

const { Terminal } = xterm;
const { Unicode11Addon } = unicode11;
export const SCREEN_WAIT_MS = 20_000;

export class ScreenReader {
  readonly term: InstanceType<typeof Terminal>;

  constructor(cols: number, rows: number) {
    this.term = new Terminal({ cols, rows, allowProposedApi: true, scrollback: 0 });
    this.term.loadAddon(new Unicode11Addon());
    this.term.unicode.activeVersion = '11';
  }

  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve) => this.term.write(data, resolve));
  }

  /** Row y as text (wide characters once, as typed). */
  line(y: number): string {
    return this.term.buffer.active.getLine(y)?.translateToString(true) ?? '';
  }

  lines(): string[] {
    return Array.from({ length: this.term.rows }, (_, y) => this.line(y));
  }

  text(): string {
    return this.lines().join('\n');
  }

  /** Terminal cells of row y, each with its text and width (0 for the right half of a wide character). */
  cells(y: number): Array<{ chars: string; width: number }> {
    const row = this.term.buffer.active.getLine(y);
    const out: Array<{ chars: string; width: number }> = [];
    for (let x = 0; x < this.term.cols; x++) {
      const cell = row?.getCell(x);
      out.push({ chars: cell?.getChars() ?? '', width: cell?.getWidth() ?? 1 });
    }
    return out;
  }

  async waitForText(what: string | RegExp, timeoutMs = SCREEN_WAIT_MS): Promise<string> {
    const match = (t: string) => (typeof what === 'string' ? t.includes(what) : what.test(t));
    try {
      return await waitFor(() => (match(this.text()) ? this.text() : null), {
        timeoutMs,
        what: String(what),
        intervalMs: 20,
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- screen ---\n${this.text()}\n--------------`, { cause: err });
    }
  }

  async waitForGone(what: string | RegExp, timeoutMs = SCREEN_WAIT_MS): Promise<void> {
    const match = (t: string) => (typeof what === 'string' ? t.includes(what) : what.test(t));
    try {
      await waitFor(() => !match(this.text()), { timeoutMs, what: `${String(what)} to go away`, intervalMs: 20 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- screen ---\n${this.text()}\n--------------`, { cause: err });
    }
  }

  /** Foreground palette colour of the cell at column x, row y (-1 for the default colour). */
  fgColor(x: number, y: number): number {
    const cell = this.term.buffer.active.getLine(y)?.getCell(x);
    return cell && !cell.isFgDefault() ? cell.getFgColor() : -1;
  }

  /** Background palette colour of the cell at column x, row y (-1 for the default colour). */
  bgColor(x: number, y: number): number {
    const cell = this.term.buffer.active.getLine(y)?.getCell(x);
    return cell && !cell.isBgDefault() ? cell.getBgColor() : -1;
  }

  /** Where `text` first starts on screen, as { x, y } in cells; null when it is not shown. */
  find(text: string): { x: number; y: number } | null {
    for (let y = 0; y < this.term.rows; y++) {
      const cells = this.cells(y);
      let row = '';
      const columns: number[] = [];
      cells.forEach((cell, x) => {
        if (cell.width === 0) return;
        const chars = cell.chars || ' ';
        // One column per UTF-16 unit, so an index into `row` maps straight to its cell.
        for (let k = 0; k < chars.length; k++) columns.push(x);
        row += chars;
      });
      const i = row.indexOf(text);
      if (i >= 0) return { x: columns[i] ?? 0, y };
    }
    return null;
  }

  /** 'alternate' while a full-screen program owns the terminal, 'normal' once it gave it back. */
  bufferType(): string {
    return this.term.buffer.active.type;
  }

  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
  }

  dispose(): void {
    this.term.dispose();
  }
}

/** Terminal-like streams for an in-process blessed screen, wired to a ScreenReader. */
export class VirtualTerminal extends ScreenReader {
  readonly input: PassThrough & { isTTY: boolean; setRawMode(mode: boolean): void };
  readonly output: Writable & { isTTY: boolean; columns: number; rows: number };
  /** Writes held back while the terminal is stalled (see stall()). */
  private held: Array<() => void> | null = null;

  constructor(cols = 100, rows = 30) {
    super(cols, rows);
    const input = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode(mode: boolean): void };
    input.isTTY = true;
    input.setRawMode = () => {};
    const output = new Writable({
      write: (chunk: Buffer | string, _enc, cb) => {
        const deliver = () => this.term.write(chunk, () => cb());
        if (this.held) this.held.push(deliver);
        else deliver();
      },
    }) as Writable & { isTTY: boolean; columns: number; rows: number };
    output.isTTY = true;
    output.columns = cols;
    output.rows = rows;
    this.input = input;
    this.output = output;
    // Answer the terminal's replies (device attributes and such) as a real terminal would.
    this.term.onData((data) => input.write(data));
  }

  /** Stop reading the program's output, as a stalled ssh link does; unstall() reads again. */
  stall(): void {
    this.held ??= [];
  }

  unstall(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const deliver of held) deliver();
  }

  /** Keys as a terminal sends them ('\r' Enter, '\x1b' Esc, '\x1b[A' Up ...). */
  type(keys: string): void {
    this.input.write(keys);
  }

  override resize(cols: number, rows: number): void {
    super.resize(cols, rows);
    this.output.columns = cols;
    this.output.rows = rows;
    this.output.emit('resize');
  }
}

/** Key sequences, as an xterm sends them. */
export const Keys = {
  ENTER: '\r',
  ESC: '\x1b',
  TAB: '\t',
  SHIFT_TAB: '\x1b[Z',
  UP: '\x1b[A',
  DOWN: '\x1b[B',
  PAGE_UP: '\x1b[5~',
  PAGE_DOWN: '\x1b[6~',
  F1: '\x1bOP',
  F2: '\x1bOQ',
  HOME: '\x1b[H',
  END: '\x1b[F',
  CTRL_R: '\x12',
  CTRL_S: '\x13',
  F10: '\x1b[21~',
  CTRL_C: '\x03',
  CTRL_B: '\x02',
  CTRL_N: '\x0e',
  CTRL_P: '\x10',
  CTRL_W: '\x17',
  F6: '\x1b[17~',
  F8: '\x1b[19~',
  ALT_ENTER: '\x1b\r',
  /** Bracketed paste as a terminal sends it with mode 2004 on. */
  paste: (text: string) => `\x1b[200~${text}\x1b[201~`,
  alt: (ch: string) => `\x1b${ch}`,
} as const;

/** A client at its first screens, in-process or in a pty: trust the server, then register `user`. */
export async function trustAndRegister(
  screen: ScreenReader & { type(keys: string): void },
  user: string,
  pass: string,
  firstWaitMs = SCREEN_WAIT_MS,
): Promise<void> {
  await screen.waitForText('Trust this server?', firstWaitMs);
  screen.type('y');
  await screen.waitForText('[r] Register');
  screen.type('r');
  await screen.waitForText('Password again');
  screen.type(`${user}\r${pass}\r${pass}\r`);
  await screen.waitForText(`Logged in as ${user}`);
}

/** A blessed screen drawn into a VirtualTerminal for the length of `fn`, then torn down. */
export async function withScreen<T>(
  size: { cols: number; rows: number },
  fn: (screen: Widgets.Screen, vt: VirtualTerminal) => Promise<T> | T,
): Promise<T> {
  const { createScreen } = await import('../../src/client/tui/screen.ts');
  const vt = new VirtualTerminal(size.cols, size.rows);
  const screen = createScreen({ input: vt.input, output: vt.output });
  try {
    return await fn(screen, vt);
  } finally {
    screen.destroy();
    vt.dispose();
  }
}
