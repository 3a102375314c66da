/**
 * Word wrapping of styled text into rows of at most `width` terminal cells, done here rather
 * than by blessed so that the messages pane knows how many rows every line takes: it scrolls
 * by rows (a 500-word message can be read from its first word) and hands blessed exactly the
 * rows it shows, with nothing left for blessed to wrap or scroll.
 */
import { escapeTags } from './text.ts';
import { rowCost } from '../../term/unicode-width.ts';

/** A run of text in one style. `text` is plain, already sanitised and NOT tag-escaped. */
export interface Span {
  text: string;
  /** blessed tags around the run, such as '{bold}' and '{/bold}'; '' for none. */
  open?: string;
  close?: string;
}

interface Piece {
  span: Span;
  text: string;
}

/** Words with their trailing spaces, and line breaks, in order. */
function tokens(spans: readonly Span[]): Array<Piece | null> {
  const out: Array<Piece | null> = [];
  for (const span of spans) {
    span.text.split('\n').forEach((part, i) => {
      if (i > 0) out.push(null);
      for (const word of part.match(/[^ ]+ *| +/g) ?? []) out.push({ span, text: word });
    });
  }
  return out;
}

function render(row: readonly Piece[]): string {
  // Consecutive pieces of the same span become one tagged run.
  let out = '';
  let span: Span | null = null;
  let text = '';
  const closeRun = () => {
    if (span) out += `${span.open ?? ''}${escapeTags(text)}${span.close ?? ''}`;
  };
  for (const piece of row) {
    if (piece.span !== span) {
      closeRun();
      span = piece.span;
      text = '';
    }
    text += piece.text;
  }
  closeRun();
  return out;
}

/** The spans as tagged rows for a `tags: true` widget; every row fits `width` (see rowCost). */
export function wrapSpans(spans: readonly Span[], width: number): string[] {
  const max = Math.max(1, width);
  const rows: string[] = [];
  let row: Piece[] = [];
  let used = 0;
  const flush = () => {
    rows.push(render(row));
    row = [];
    used = 0;
  };
  for (const token of tokens(spans)) {
    if (token === null) {
      flush();
      continue;
    }
    const w = rowCost(token.text);
    if (used + w <= max) {
      row.push(token);
      used += w;
      continue;
    }
    // Trailing spaces may hang past the edge: they are dropped at the break.
    const word = token.text.trimEnd();
    const wordWidth = rowCost(word);
    if (word && used + wordWidth <= max) {
      row.push({ span: token.span, text: word });
      flush();
      continue;
    }
    if (!word) {
      if (used > 0) flush();
      continue;
    }
    if (wordWidth <= max && used > 0) {
      flush();
      const piece =
        token.text.length > word.length && wordWidth + 1 <= max
          ? { span: token.span, text: word + ' ' }
          : { span: token.span, text: word };
      row.push(piece);
      used = rowCost(piece.text);
      continue;
    }
    // A word longer than a row (a URL, a run of CJK): cut it cell by cell.
    let part = '';
    for (const ch of word) {
      const cw = rowCost(ch);
      if (used + rowCost(part) + cw > max && (part || used > 0)) {
        if (part) row.push({ span: token.span, text: part });
        flush();
        part = '';
      }
      part += ch;
    }
    if (part) {
      row.push({ span: token.span, text: part });
      used += rowCost(part);
    }
  }
  if (row.length > 0 || rows.length === 0) flush();
  return rows;
}
