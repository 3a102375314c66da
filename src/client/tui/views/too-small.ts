/** Shown over everything while the terminal is below the minimum size, instead of a broken layout. */
import blessed from 'blessed';
import { MIN_COLS, MIN_ROWS } from '../screen.ts';

export class TooSmallView {
  readonly box: blessed.Widgets.BoxElement;

  constructor(parent: blessed.Widgets.Screen) {
    this.box = blessed.box({
      parent,
      top: 0,
      left: 0,
      width: '100%',
      height: '100%',
      tags: true,
      hidden: true,
      style: { bg: 'black' },
    });
  }

  update(cols: number, rows: number): void {
    this.box.setContent(
      [
        '{bold}Terminal too small{/bold}',
        `This window is ${cols}x${rows}; p2p-client needs at least ${MIN_COLS}x${MIN_ROWS}.`,
        'Make it larger to go on (Ctrl-C quits).',
      ].join('\n'),
    );
  }

  setVisible(visible: boolean): void {
    if (visible) {
      this.box.show();
      this.box.setFront();
    } else {
      this.box.hide();
    }
  }
}
