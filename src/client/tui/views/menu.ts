/**
 * A short centred list of choices, each with a hotkey: the Login/Register screen and the
 * picker for an IP shared by several users. Arrows or j/k move, Enter picks, the hotkey
 * picks at once, Esc goes back.
 */
import blessed from 'blessed';
import { escapeTags } from '../text.ts';
import type { EditKey } from '../line-editor.ts';

export interface Choice<T> {
  value: T;
  label: string;
  hotkey?: string;
}

export type MenuResult<T> = { picked: T } | 'back' | null;

export class MenuView<T> {
  readonly box: blessed.Widgets.BoxElement;
  private selected = 0;

  constructor(
    parent: blessed.Widgets.Node,
    private readonly spec: { title: string; intro: string[]; choices: Choice<T>[]; hint: string; width?: number },
  ) {
    this.box = blessed.box({
      parent,
      top: 'center',
      left: 'center',
      width: spec.width ?? 50,
      height: spec.intro.length + spec.choices.length + 5,
      border: 'line',
      tags: true,
      label: ` ${spec.title} `,
      style: { border: { fg: 'cyan' } },
    });
    this.draw();
  }

  get selectedValue(): T {
    const choice = this.spec.choices[this.selected];
    if (choice === undefined) throw new RangeError(`menu "${this.spec.title}" has no choice ${this.selected}`);
    return choice.value;
  }

  handleKey(ch: string | undefined, key: EditKey): MenuResult<T> {
    const name = key.full ?? key.name ?? '';
    const count = this.spec.choices.length;
    if (name === 'up' || name === 'k' || name === 'S-tab') this.selected = (this.selected - 1 + count) % count;
    else if (name === 'down' || name === 'j' || name === 'tab') this.selected = (this.selected + 1) % count;
    else if (name === 'enter') return { picked: this.selectedValue };
    else if (name === 'escape') return 'back';
    else {
      const hit = this.spec.choices.find((c) => c.hotkey !== undefined && c.hotkey === ch);
      if (hit) return { picked: hit.value };
      return null;
    }
    this.draw();
    return null;
  }

  destroy(): void {
    this.box.destroy();
  }

  private draw(): void {
    const lines = [...this.spec.intro.map(escapeTags), ''];
    this.spec.choices.forEach((c, i) => {
      const text = escapeTags(`${c.hotkey ? `[${c.hotkey}] ` : ''}${c.label}`);
      lines.push(i === this.selected ? `{inverse} > ${text} {/inverse}` : `   ${text}`);
    });
    lines.push('', `{gray-fg}${escapeTags(this.spec.hint)}{/gray-fg}`);
    this.box.setContent(lines.join('\n'));
  }
}
