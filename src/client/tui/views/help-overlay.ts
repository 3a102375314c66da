/** The help overlay: every binding of the keymap table and every slash command. Up/Down/PgUp/PgDn scroll it; any other key closes it. */
import blessed from 'blessed';
import { COMMANDS } from '../commands.ts';
import { KEYMAP, SCOPE_TITLES, type KeyScope } from '../keymap.ts';
import { escapeTags, fitCells } from '../text.ts';
import { fitWidth } from '../screen.ts';

const KEY_COLUMN = 18;
const HELP_WIDTH = 78;
const SCROLL_KEYS: Record<string, number> = { up: -1, down: 1, pageup: -10, pagedown: 10 };

/** The help's rows for a box `inner` cells wide inside: a description too long is ellipsised, never wrapped (rows are counted to scroll). */
export function helpLines(inner = Number.POSITIVE_INFINITY): string[] {
  const lines: string[] = [];
  const scopes = [...new Set(KEYMAP.map((b) => b.scope))] as KeyScope[];
  for (const scope of scopes) {
    lines.push(`{bold}{cyan-fg}${SCOPE_TITLES[scope]}{/cyan-fg}{/bold}`);
    for (const b of KEYMAP.filter((k) => k.scope === scope)) {
      lines.push(
        `  ${escapeTags(b.label.padEnd(KEY_COLUMN))}${escapeTags(fitCells(b.description, inner - 2 - KEY_COLUMN))}`,
      );
    }
    lines.push('');
  }
  lines.push('{bold}{cyan-fg}Commands (in the input line){/cyan-fg}{/bold}');
  for (const c of COMMANDS)
    lines.push(`  ${escapeTags(c.usage.padEnd(24))}${escapeTags(fitCells(c.description, inner - 2 - 24))}`);
  return lines;
}

export class HelpOverlay {
  readonly box: blessed.Widgets.BoxElement;
  private lines = helpLines();
  /** First line shown. Kept here (blessed's own scrolling first walks a cursor down the page). */
  private top = 0;

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({
      parent,
      top: 'center',
      left: 'center',
      width: HELP_WIDTH,
      height: '90%',
      border: 'line',
      tags: true,
      label: ' Help: keys and commands (Esc closes, arrows scroll) ',
      style: { border: { fg: 'cyan' } },
      hidden: true,
    });
  }

  get visible(): boolean {
    return !this.box.hidden;
  }

  show(): void {
    // Sized when shown: the terminal may have been resized since.
    this.box.width = fitWidth(this.box.screen, HELP_WIDTH);
    this.lines = helpLines(this.box.width - 2);
    this.top = 0;
    this.draw();
    this.box.show();
    this.box.setFront();
  }

  /** Returns true while the overlay stays open. */
  handleKey(keyName: string): boolean {
    const delta = SCROLL_KEYS[keyName];
    if (delta !== undefined) {
      this.top += delta;
      this.draw();
      return true;
    }
    this.box.hide();
    return false;
  }

  private draw(): void {
    const rows = Math.max(1, (this.box.height as number) - 2);
    const last = Math.max(0, this.lines.length - rows);
    this.top = Math.max(0, Math.min(this.top, last));
    const shown = this.lines.slice(this.top, this.top + rows);
    // Say there is more, in the last row, rather than leave the commands to be guessed.
    if (this.top < last) shown[shown.length - 1] = `{gray-fg}-- more below: Down / PgDn --{/gray-fg}`;
    this.box.setContent(shown.join('\n'));
  }
}
