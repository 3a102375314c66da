/** The dashboard's fixed texts: too small, help, stop confirmation. */
import blessed from 'blessed';
import { fitRow } from '../../term/unicode-width.ts';
import { CANCEL_KEYS, CONFIRM_KEYS, helpLines } from './keys.ts';
import { MIN_COLS, MIN_ROWS } from './layout.ts';

/** Columns from which the too-small message has room for its full sentences. */
const TOO_SMALL_ROOMY_COLS = 48;

/** What the screen says instead of the panes when the terminal is below MIN_COLS x MIN_ROWS. */
export function tooSmallContent(cols: number, rows: number): string {
  if (cols >= TOO_SMALL_ROOMY_COLS) {
    return [
      '',
      '  {bold}Terminal too small for the dashboard{/bold}',
      `  ${cols}x${rows} here, needs at least ${MIN_COLS}x${MIN_ROWS}.`,
      '',
      '  The server keeps running.',
      '  Enlarge the window, or run with --headless',
      '  for JSON log lines.',
    ].join('\n');
  }
  // A tiny window gets short lines, the size first, each cut to the width.
  return [
    `Too small: ${cols}x${rows}`,
    `needs ${MIN_COLS}x${MIN_ROWS}.`,
    'Server running.',
    'Enlarge, or use',
    '--headless.',
  ]
    .map((line) => blessed.escape(fitRow(line, cols)))
    .join('\n');
}

/** The keys, then the whole fingerprint in two halves (the footer may have room for a short one). */
export function helpContent(fingerprint: string): string {
  const bytes = fingerprint.split(':');
  return [
    ...helpLines(),
    '',
    'TLS certificate, SHA-256 (give it to your users):',
    `  ${bytes.slice(0, 16).join(':')}`,
    `  ${bytes.slice(16).join(':')}`,
    '',
    'Any key closes this help.',
  ]
    .map((line) => blessed.escape(line))
    .join('\n');
}

export const CONFIRM_CONTENT =
  '\nClients are told, state is saved, then the server exits.\n\n' +
  `{bold}${CONFIRM_KEYS.join('/')}{/bold}: stop     {bold}${CANCEL_KEYS.join('/')}{/bold}: keep running`;

export const STOPPING_CONTENT = '\nTelling clients, saving state, closing listeners...';
