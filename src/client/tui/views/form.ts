/**
 * A centred form: a title, some lines of explanation, labelled fields and an error line.
 * Used for the server address, login and register. Keys (keymap scope 'forms'): Enter moves
 * to the next field and submits on the last, Esc goes to the previous field or back, Tab and
 * the arrows move between fields.
 */
import blessed from 'blessed';
import { Action, actionFor } from '../keymap.ts';
import { LineEditor, type EditKey } from '../line-editor.ts';
import { escapeTags, wrappedRows } from '../text.ts';
import { renderEditor } from './field.ts';
import { fitWidth } from '../screen.ts';

export const FORM_WIDTH = 64;
const LABEL_WIDTH = 18;

export interface FieldSpec {
  name: string;
  label: string;
  value?: string;
  masked?: boolean;
}

/** One field of values(), for a name the form was built with: any other name is a bug. */
export function fieldValue(values: Readonly<Record<string, string>>, name: string): string {
  const value = values[name];
  if (value === undefined) throw new Error(`the form has no field "${name}"`);
  return value;
}

export type FormResult = 'submit' | 'back' | null;

export class FormView {
  readonly box: blessed.Widgets.BoxElement;
  private readonly editors: LineEditor[];
  private readonly width: number;
  private focus = 0;
  private error = '';
  private busy = '';

  constructor(
    parent: blessed.Widgets.Node,
    private readonly spec: { title: string; intro: string[]; fields: FieldSpec[]; hint: string },
  ) {
    this.editors = spec.fields.map((f) => new LineEditor(f.value ?? ''));
    this.width = fitWidth(parent.screen, FORM_WIDTH);
    this.box = blessed.box({
      parent,
      top: 'center',
      left: 'center',
      width: this.width,
      height: 8,
      border: 'line',
      tags: true,
      label: ` ${spec.title} `,
      style: { border: { fg: 'cyan' } },
    });
    this.draw();
  }

  values(): Record<string, string> {
    return Object.fromEntries(this.spec.fields.map((f, i) => [f.name, this.editor(i).value]));
  }

  get focusedField(): string {
    return this.field(this.focus).name;
  }

  focusField(name: string, clear = false): void {
    const i = this.spec.fields.findIndex((f) => f.name === name);
    if (i < 0) return;
    this.focus = i;
    if (clear) this.editor(i).clear();
    this.draw();
  }

  /** A plain-words error (not escaped yet); '' clears it. */
  setError(text: string): void {
    this.error = text;
    this.busy = '';
    this.draw();
  }

  setBusy(text: string): void {
    this.busy = text;
    this.error = '';
    this.draw();
  }

  handleKey(ch: string | undefined, key: EditKey): FormResult {
    const name = key.full ?? key.name ?? '';
    const action = actionFor('forms', name);
    if (action === Action.FORM_NEXT) {
      if (this.focus === this.editors.length - 1) return 'submit';
      this.focus += 1;
    } else if (action === Action.FORM_BACK) {
      if (this.focus === 0) return 'back';
      this.focus -= 1;
    } else if (name === 'tab' || name === 'down') {
      this.focus = (this.focus + 1) % this.editors.length;
    } else if (name === 'S-tab' || name === 'up') {
      this.focus = (this.focus - 1 + this.editors.length) % this.editors.length;
    } else if (!this.editor(this.focus).handle(ch, key)) {
      return null;
    } else {
      // The user is answering the error: it no longer describes what the fields hold.
      this.error = '';
    }
    this.draw();
    return null;
  }

  /** A paste goes into the focused field as one line. */
  paste(text: string): void {
    if (this.editor(this.focus).insertText(text)) this.draw();
  }

  destroy(): void {
    this.box.destroy();
  }

  // One editor per field, made together in the constructor; focus stays within them (a form
  // always has fields), so a missing index is a bug here, not something a user can cause.
  private field(i: number): FieldSpec {
    const field = this.spec.fields[i];
    if (field === undefined) throw new RangeError(`form "${this.spec.title}" has no field ${i}`);
    return field;
  }

  private editor(i: number): LineEditor {
    const editor = this.editors[i];
    if (editor === undefined) throw new RangeError(`form "${this.spec.title}" has no field ${i}`);
    return editor;
  }

  private draw(): void {
    const inner = this.width - 4;
    const lines: string[] = [...this.spec.intro.map(escapeTags), ''];
    this.spec.fields.forEach((f, i) => {
      const focused = i === this.focus;
      const label = `${focused ? '>' : ' '} ${f.label}:`.padEnd(LABEL_WIDTH);
      const value = renderEditor(this.editor(i), inner - LABEL_WIDTH - 1, { masked: f.masked, focused });
      lines.push(`${focused ? '{bold}' : ''}${escapeTags(label)}${focused ? '{/bold}' : ''} ${value}`);
    });
    lines.push('');
    if (this.error) lines.push(...this.error.split('\n').map((l) => `{red-fg}${escapeTags(l)}{/red-fg}`));
    else if (this.busy) lines.push(`{yellow-fg}${escapeTags(this.busy)}{/yellow-fg}`);
    lines.push(`{gray-fg}${escapeTags(this.spec.hint)}{/gray-fg}`);
    this.box.height = Math.min(wrappedRows(lines, this.width - 2) + 2, (this.box.screen.height as number) - 2);
    this.box.setContent(lines.join('\n'));
  }
}
