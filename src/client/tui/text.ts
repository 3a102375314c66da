/**
 * Turning text into something to hand to blessed. Text from the network arrives here already
 * sanitised: the client core does that once, where it receives it (src/net/sanitize.ts says
 * where), so nothing here strips escape sequences again. What is left is blessed's own
 * concern: tag escaping stops a '{bold}' in a message from being read as markup, tabs become
 * spaces, and one-line fields fold newlines. Every widget that shows text goes through
 * `plain` / `plainLine` (or escapeTags for our own fixed wording).
 */
import { textWidth } from '../../term/unicode-width.ts';

/** blessed's own escape (`blessed.escape`) is missing from @types/blessed; this is the same rule. */
export function escapeTags(text: string): string {
  return text.replace(/[{}]/g, (ch) => (ch === '{' ? '{open}' : '{close}'));
}

/** Multi-line text for a `tags: true` widget. */
export function plain(text: string): string {
  return escapeTags(plainText(text));
}

/** Multi-line text laid out for the terminal (tabs as spaces), not yet escaped for tags. */
export function plainText(text: string): string {
  return text.replace(/\t/g, '  ');
}

/** Text for a one-line field (a name, a label): newlines and tabs folded to spaces, not yet escaped. */
export function oneLine(text: string): string {
  return text.replace(/[\n\t]/g, ' ');
}

/** One-line text (names, labels) for a `tags: true` widget. */
export function plainLine(text: string): string {
  return escapeTags(oneLine(text));
}

/** Pad with spaces to `width` terminal cells (wide characters count two). */
export function padCells(text: string, width: number): string {
  const missing = width - textWidth(text);
  return missing > 0 ? text + ' '.repeat(missing) : text;
}

/** Cut to at most `width` cells, marking the cut with an ellipsis. */
export function fitCells(text: string, width: number): string {
  if (width <= 0) return '';
  if (textWidth(text) <= width) return text;
  let out = '';
  for (const ch of text) {
    if (textWidth(out + ch) > width - 1) break;
    out += ch;
  }
  return `${out}…`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Local wall-clock time of a message, HH:MM. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/**
 * A span of time exactly, in its two largest units ("45 s", "30 min", "1 h 30 min",
 * "2 min 5 s"): a configured lifetime is told as configured, never rounded to a minute.
 * Below a second it says "under 1 s".
 */
export function formatDuration(ms: number): string {
  const total = Math.floor(ms / 1000);
  if (total < 1) return 'under 1 s';
  const units: Array<[number, string]> = [
    [Math.floor(total / 86_400), 'd'],
    [Math.floor((total % 86_400) / 3600), 'h'],
    [Math.floor((total % 3600) / 60), 'min'],
    [total % 60, 's'],
  ];
  const first = units.findIndex(([n]) => n > 0);
  return units
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n} ${unit}`)
    .join(' ');
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A fingerprint shortened for the status bar: first and last two bytes. */
export { shortFingerprint } from '../../net/tls.ts';

/** Rows a tagged text takes in a box `inner` cells wide, once blessed wraps it. */
export function wrappedRows(lines: readonly string[], inner: number): number {
  return lines.reduce(
    (n, l) => n + Math.max(1, Math.ceil(textWidth(l.replace(/\{[^}]*\}/g, '')) / Math.max(1, inner))),
    0,
  );
}
