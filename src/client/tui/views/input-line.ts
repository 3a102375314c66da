/**
 * The input line at the bottom: what is being typed, and where Enter will send it. A message
 * of several lines (Alt-Enter, a paste) grows it to MAX_INPUT_ROWS rows, the rows around the
 * cursor shown; each row scrolls sideways around the cursor as a one-line field does.
 */
import blessed from 'blessed';
import { BLUR_BORDER, FOCUS_BORDER, LAYOUT } from '../layout.ts';
import type { LineEditor } from '../line-editor.ts';
import { fitCells, plainLine } from '../text.ts';
import { renderEditor, renderPoints } from './field.ts';
import { styleOf } from '../../../term/element-style.ts';

const PROMPT = '> ';
const MORE = '  ';
/** Rows of text at most; a longer message scrolls within them. */
export const MAX_INPUT_ROWS = 5;

export class InputLine {
  readonly box: blessed.Widgets.BoxElement;

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({ parent, ...LAYOUT.input, border: 'line', tags: true });
  }

  /** Rows the editor's text needs here. */
  rowsFor(editor: LineEditor): number {
    return Math.min(MAX_INPUT_ROWS, editor.rowCount);
  }

  update(editor: LineEditor, target: string, focused: boolean, rows = 1): void {
    styleOf(this.box).border = { fg: focused ? FOCUS_BORDER : BLUR_BORDER };
    const total = editor.rowCount;
    const label = `${target}${total > 1 ? ` · ${total} lines, Enter sends all` : ''}`;
    // A label wider than the border spills into the pane in blessed: cut it to fit.
    this.box.setLabel(` ${plainLine(fitCells(label, Math.max(1, (this.box.width as number) - 5)))} `);
    const width = Math.max(1, (this.box.width as number) - 2 - PROMPT.length);
    // One row (nearly always): drawn around the cursor at the cost of the width, not the length.
    if (total === 1) return void this.box.setContent(`${PROMPT}${renderEditor(editor, width, { focused })}`);
    // Split into rows, finding the cursor's row and column (code points).
    const lines: string[][] = [[]];
    let cursorRow = 0;
    let cursorCol = 0;
    editor.codePoints.forEach((ch, i) => {
      if (i === editor.position) [cursorRow, cursorCol] = [lines.length - 1, lines[lines.length - 1]?.length ?? 0];
      if (ch === '\n') lines.push([]);
      else lines[lines.length - 1]?.push(ch);
    });
    if (editor.position >= editor.codePoints.length)
      [cursorRow, cursorCol] = [lines.length - 1, lines[lines.length - 1]?.length ?? 0];
    const first = Math.max(0, Math.min(cursorRow - Math.floor(rows / 2), lines.length - rows));
    const shown = lines.slice(first, first + rows).map((points, k) => {
      const row = first + k;
      const prompt = row === 0 ? PROMPT : MORE;
      const at = row === cursorRow ? cursorCol : 0;
      return prompt + renderPoints(points, at, width, { focused: focused && row === cursorRow });
    });
    this.box.setContent(shown.join('\n'));
  }
}
