/** How a LineEditor looks in one row: a window of the text around the cursor, the cursor in reverse video. */
import { escapeTags } from '../text.ts';
import { textWidth } from '../unicode-width.ts';
import type { LineEditor } from '../line-editor.ts';

export const MASK_CHAR = '•';

export function renderEditor(editor: LineEditor, width: number, options: { masked?: boolean; focused?: boolean } = {}): string {
  const points = options.masked ? editor.codePoints.map(() => MASK_CHAR) : [...editor.codePoints];
  const cursor = editor.position;
  // Slide the window so the cursor (one cell) stays visible.
  let start = 0;
  const widthOf = (from: number, to: number) => textWidth(points.slice(from, to).join(''));
  while (start < cursor && widthOf(start, cursor) + 1 > width) start += 1;
  let end = start;
  while (end < points.length && widthOf(start, end + 1) + (end + 1 > cursor ? 0 : 1) <= width) end += 1;
  const before = escapeTags(points.slice(start, cursor).join(''));
  if (!options.focused) return escapeTags(points.slice(start, end).join(''));
  const at = cursor < points.length ? escapeTags(points[cursor]) : ' ';
  const after = escapeTags(points.slice(cursor + 1, Math.max(end, cursor + 1)).join(''));
  return `${before}{inverse}${at}{/inverse}${after}`;
}
