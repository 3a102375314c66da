/**
 * The blessed screen, over the process's terminal or over streams a test injects. One place
 * sets the options every view relies on: fullUnicode for wide characters (with the width
 * fix of unicode-width.ts), tags, and no mouse (keyboard-driven, and keeps the e2e output plain).
 */
import blessed from 'blessed';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import { patchBlessedWidths } from '../../term/unicode-width.ts';
import { BRACKETED_PASTE_OFF, BRACKETED_PASTE_ON } from './paste.ts';
import { TerminalInput } from './terminal-input.ts';

/**
 * Below this the layout cannot show the messages and the input line; a message says so
 * instead. 60x20 is half of a split tmux window: there the user list folds away (layout.ts).
 */
export const MIN_COLS = 60;
export const MIN_ROWS = 20;

export interface TerminalStreams {
  input?: Readable;
  output?: Writable;
}

const require = createRequire(import.meta.url);
const GRAY = 8;
const WHITE = 7;
let colorsPatched = false;

/**
 * On an 8-colour terminal blessed turns grey (bright black) into black, which vanishes on a
 * dark background: timestamps, hints and "✓ sent" with it. Grey becomes white there instead.
 */
function patchGrayOnEightColors(): void {
  if (colorsPatched) return;
  colorsPatched = true;
  const colors = require('blessed/lib/colors') as { reduce(color: number, total: number): number };
  const reduce = colors.reduce.bind(colors);
  colors.reduce = (color, total) => (color === GRAY && total <= 8 ? WHITE : reduce(color, total));
}

export function createScreen(streams: TerminalStreams, title = 'p2p-client'): blessed.Widgets.Screen {
  patchBlessedWidths();
  patchGrayOnEightColors();
  const term = process.env.TERM && process.env.TERM !== 'dumb' ? process.env.TERM : 'xterm-256color';
  const screen = blessed.screen({
    // @types/blessed swaps the two stream types; blessed itself reads `input` and writes `output`.
    input: streams.input as never,
    output: streams.output as never,
    terminal: term,
    fullUnicode: true,
    smartCSR: true,
    autoPadding: true,
    warnings: false,
    title,
  });
  // blessed 0.1.81 cannot read the extended terminfo format of newer ncurses (Debian's
  // tmux-256color, for one) and then assumes 8 colours; the terminal's name knows better.
  const tput = screen.tput as unknown as { colors: number };
  if (/256col/.test(term) && tput.colors < 256) tput.colors = 256;
  return screen;
}

/** A box `want` cells wide, or narrower to keep a cell of margin each side on a small screen. */
export function fitWidth(screen: blessed.Widgets.Screen, want: number): number {
  return Math.max(MIN_COLS - 2, Math.min(want, (screen.width as number) - 2));
}

export function isTooSmall(screen: blessed.Widgets.Screen): boolean {
  return (screen.width as number) < MIN_COLS || (screen.height as number) < MIN_ROWS;
}

/**
 * The screen over a terminal whose input is read first by TerminalInput (pastes, Alt-Enter),
 * with bracketed paste on while the screen lives: it is turned off again when blessed gives
 * the terminal back, so the shell after us does not get pastes wrapped in markers.
 */
export function openTerminal(streams: TerminalStreams): { screen: blessed.Widgets.Screen; input: TerminalInput } {
  const input = new TerminalInput(streams.input ?? process.stdin);
  const output = streams.output ?? process.stdout;
  const screen = createScreen({ input: input.keys, output });
  output.write(BRACKETED_PASTE_ON);
  screen.program.once('destroy', () => {
    output.write(BRACKETED_PASTE_OFF);
    input.close();
  });
  return { screen, input };
}
