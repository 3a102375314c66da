/** The input line at the bottom: what is being typed, and where Enter will send it. */
import blessed from 'blessed';
import { BLUR_BORDER, FOCUS_BORDER, LAYOUT } from '../layout.ts';
import type { LineEditor } from '../line-editor.ts';
import { fitCells, plainLine } from '../text.ts';
import { renderEditor } from './field.ts';
import { styleOf } from '../../../term/element-style.ts';

const PROMPT = '> ';

export class InputLine {
  readonly box: blessed.Widgets.BoxElement;

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({ parent, ...LAYOUT.input, border: 'line', tags: true });
  }

  update(editor: LineEditor, target: string, focused: boolean): void {
    styleOf(this.box).border = { fg: focused ? FOCUS_BORDER : BLUR_BORDER };
    // A label wider than the border spills into the pane in blessed: cut it to fit.
    this.box.setLabel(` ${plainLine(fitCells(target, Math.max(1, (this.box.width as number) - 5)))} `);
    const width = Math.max(1, (this.box.width as number) - 2 - PROMPT.length);
    this.box.setContent(`${PROMPT}${renderEditor(editor, width, { focused })}`);
  }
}
