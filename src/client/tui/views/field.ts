/**
 * How a LineEditor looks in one row: a window of the text around the cursor, the cursor in
 * reverse video. The window is found by walking out from the cursor, so drawing costs the
 * width of the field, not the length of the text (a pasted 16 KiB line stays responsive).
 */
import { escapeTags } from '../text.ts';
import { textWidth } from '../../../term/unicode-width.ts';
import type { LineEditor } from '../line-editor.ts';

export const MASK_CHAR = '•';

export function renderEditor(
  editor: LineEditor,
  width: number,
  options: { masked?: boolean; focused?: boolean } = {},
): string {
  return renderPoints(editor.codePoints, editor.position, width, options);
}

/** One row of code points with the cursor at `cursor` (a row of a multi-line draft, or the whole field). */
export function renderPoints(
  points: readonly string[],
  cursor: number,
  width: number,
  options: { masked?: boolean; focused?: boolean } = {},
): string {
  // Every caller keeps 0 <= i < points.length; past the end reads as nothing.
  const at = (i: number): string => (options.masked ? MASK_CHAR : (points[i] ?? ''));
  // The cursor takes one cell when focused; the text before it fills what is left, then the text after.
  let used = options.focused ? 1 : 0;
  let start = cursor;
  while (start > 0 && used + textWidth(at(start - 1)) <= width) used += textWidth(at(--start));
  let end = options.focused ? Math.min(cursor + 1, points.length) : cursor;
  if (options.focused && cursor < points.length) used += textWidth(at(cursor)) - 1;
  while (end < points.length && used + textWidth(at(end)) <= width) used += textWidth(at(end++));
  const slice = (from: number, to: number) => {
    let s = '';
    for (let i = from; i < to; i++) s += at(i);
    return escapeTags(s);
  };
  if (!options.focused) return slice(start, end);
  const under = cursor < points.length ? escapeTags(at(cursor)) : ' ';
  return `${slice(start, cursor)}{inverse}${under}{/inverse}${slice(cursor + 1, end)}`;
}
