/**
 * The blessed screen, over the process's terminal or over streams a test injects. One place
 * sets the options every view relies on: fullUnicode for wide characters (with the width
 * fix of unicode-width.ts), tags, and no mouse (keyboard-driven, and keeps the e2e output plain).
 */
import blessed from 'blessed';
import type { Readable, Writable } from 'node:stream';
import { patchBlessedWidths } from './unicode-width.ts';

/** Below this the layout cannot show both panes and the input line; a message says so instead. */
export const MIN_COLS = 80;
export const MIN_ROWS = 24;

export interface TerminalStreams {
  input?: Readable;
  output?: Writable;
}

export function createScreen(streams: TerminalStreams, title = 'p2p-client'): blessed.Widgets.Screen {
  patchBlessedWidths();
  const screen = blessed.screen({
    // @types/blessed swaps the two stream types; blessed itself reads `input` and writes `output`.
    input: streams.input as never,
    output: streams.output as never,
    terminal: process.env.TERM && process.env.TERM !== 'dumb' ? process.env.TERM : 'xterm-256color',
    fullUnicode: true,
    smartCSR: true,
    autoPadding: true,
    warnings: false,
    title,
  });
  return screen;
}

export function isTooSmall(screen: blessed.Widgets.Screen): boolean {
  return (screen.width as number) < MIN_COLS || (screen.height as number) < MIN_ROWS;
}
