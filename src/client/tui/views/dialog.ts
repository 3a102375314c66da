/**
 * A yes/no question over everything else: trusting a server's fingerprint on first
 * contact, quitting with chats open. `y` says yes; `n` or Esc says no.
 */
import blessed from 'blessed';
import { escapeTags, wrappedRows } from '../text.ts';
import { fitWidth } from '../screen.ts';

export class DialogView {
  readonly box: blessed.Widgets.BoxElement;

  constructor(
    parent: blessed.Widgets.Node,
    spec: { title: string; lines: string[]; question: string; width?: number },
  ) {
    const lines = [
      ...spec.lines.map(escapeTags),
      '',
      `{bold}${escapeTags(spec.question)}{/bold}  {gray-fg}y = yes, n / Esc = no{/gray-fg}`,
    ];
    const width = fitWidth(parent.screen, spec.width ?? 76);
    this.box = blessed.box({
      parent,
      top: 'center',
      left: 'center',
      width,
      height: wrappedRows(lines, width - 2) + 2,
      border: 'line',
      tags: true,
      label: ` ${spec.title} `,
      style: { border: { fg: 'yellow' } },
      content: lines.join('\n'),
    });
    this.box.setFront();
  }

  /** true for yes, false for no, null for a key that means neither. */
  static answer(ch: string | undefined, keyName: string): boolean | null {
    if (ch === 'y' || ch === 'Y') return true;
    if (ch === 'n' || ch === 'N' || keyName === 'escape') return false;
    return null;
  }

  destroy(): void {
    this.box.destroy();
  }
}
