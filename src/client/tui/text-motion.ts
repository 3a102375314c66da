/**
 * Where the cursor of the line editor goes: grapheme clusters (what a reader sees as one
 * character: 👍🏽, 🇫🇮, e + combining accent) and words. Pure functions over code points.
 */

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * A window wide enough for any cluster met in practice (the longest emoji ZWJ sequences are
 * about ten code points), so a step costs the same at the end of a 16 KiB line as in a word.
 */
const CLUSTER_WINDOW = 32;

/** Code points in the grapheme cluster that ends at `cursor` (0 at the start). */
export function graphemeBefore(chars: readonly string[], cursor: number): number {
  if (cursor <= 0) return 0;
  const from = Math.max(0, cursor - CLUSTER_WINDOW);
  let last = '';
  for (const { segment } of graphemes.segment(chars.slice(from, cursor).join(''))) last = segment;
  return Math.max(1, [...last].length);
}

/** Code points in the grapheme cluster that starts at `cursor` (0 at the end). */
export function graphemeAfter(chars: readonly string[], cursor: number): number {
  if (cursor >= chars.length) return 0;
  const text = chars.slice(cursor, cursor + CLUSTER_WINDOW).join('');
  const first = graphemes.segment(text)[Symbol.iterator]().next();
  return first.done ? 1 : Math.max(1, [...first.value.segment].length);
}

/** Letters, digits and marks make words (readline's Alt-B/F/D); anything else separates them. */
export function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}\p{M}_]/u.test(ch);
}

/** Spaces a pasted tab becomes: the chat text carries no control character but the newline. */
export const PASTE_TAB_SPACES = 4;

/**
 * Pasted text as the input line keeps it: line ends as '\n', tabs as spaces, every other
 * control character (and escape sequences' introducers) dropped. One trailing newline goes:
 * most copies of a line or a block end with one, and it would send an empty last row.
 */
export function cleanPaste(text: string): string {
  return (
    text
      .replace(/\r\n?/g, '\n')
      .replace(/\t/g, ' '.repeat(PASTE_TAB_SPACES))
      // eslint-disable-next-line no-control-regex -- pasted text must lose its control characters
      .replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '')
      .replace(/\n$/, '')
  );
}
