/**
 * A large number for the connections pane, drawn with half-block characters: each digit is a
 * 3x5 pixel glyph, two pixel rows to a text row, so it takes 3 lines and reads from across a
 * room. (blessed's BigText needs 14 lines, too tall for a dashboard cell.)
 */

const GLYPHS: Record<string, readonly string[]> = {
  '0': ['###', '#.#', '#.#', '#.#', '###'],
  '1': ['##.', '.#.', '.#.', '.#.', '###'],
  '2': ['###', '..#', '###', '#..', '###'],
  '3': ['###', '..#', '###', '..#', '###'],
  '4': ['#.#', '#.#', '###', '..#', '..#'],
  '5': ['###', '#..', '###', '..#', '###'],
  '6': ['###', '#..', '###', '#.#', '###'],
  '7': ['###', '..#', '..#', '..#', '..#'],
  '8': ['###', '#.#', '###', '#.#', '###'],
  '9': ['###', '#.#', '###', '..#', '###'],
  ',': ['.', '.', '.', '#', '#'],
};
const GLYPH_PIXEL_ROWS = 5;
export const BIG_DIGIT_LINES = Math.ceil(GLYPH_PIXEL_ROWS / 2);

function cell(top: boolean, bottom: boolean): string {
  if (top && bottom) return '█';
  if (top) return '▀';
  if (bottom) return '▄';
  return ' ';
}

/** The number as BIG_DIGIT_LINES lines of text, digits one column apart, thousands separated. */
export function bigNumber(value: number): string[] {
  const text = Math.max(0, Math.trunc(value)).toLocaleString('en-US');
  const lines: string[] = [];
  for (let row = 0; row < GLYPH_PIXEL_ROWS; row += 2) {
    const parts = [...text].map((ch) => {
      const glyph = GLYPHS[ch];
      if (!glyph) return '';
      const top = glyph[row] ?? ''; // every glyph has GLYPH_PIXEL_ROWS rows; a short one would draw blank
      const bottom = glyph[row + 1];
      return [...top].map((p, x) => cell(p === '#', bottom?.[x] === '#')).join('');
    });
    lines.push(parts.join(' '));
  }
  return lines;
}
