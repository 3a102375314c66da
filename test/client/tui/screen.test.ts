/** Terminal colour detection of the screen (src/client/tui/screen.ts), over injected streams. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import blessed from 'blessed';
import { createScreen } from '../../../src/client/tui/screen.ts';
import { NICK_PALETTE } from '../../../src/client/tui/nick-colors.ts';
import { waitFor } from '../../helpers/wait.ts';

/** The SGR sequence blessed writes before a word in `color` (a blessed colour name), under TERM=`term`. */
async function sgrUnder(term: string, color = 'gray'): Promise<string> {
  const saved = process.env.TERM;
  process.env.TERM = term;
  const input = new PassThrough();
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 40, rows: 5 });
  let written = '';
  output.on('data', (d: Buffer) => (written += d.toString()));
  const screen = createScreen({ input, output });
  try {
    blessed.box({ parent: screen, content: `{${color}-fg}hint{/${color}-fg}`, tags: true });
    screen.render();
    await waitFor(() => written.includes('hint'), { what: 'the screen was drawn' });
    // eslint-disable-next-line no-control-regex -- reads an SGR escape sequence from the raw output
    return /\x1b\[([0-9;]*)m(?=hint)/.exec(written)?.[1] ?? '';
  } finally {
    screen.destroy();
    process.env.TERM = saved;
  }
}

test('grey stays grey where the terminal name says 256 colours, even when blessed cannot read its terminfo', async () => {
  assert.equal(await sgrUnder('tmux-256color'), '90');
  assert.equal(await sgrUnder('xterm-256color'), '90');
});

test('grey is drawn white, not black (invisible on a dark background), on an 8-colour terminal', async () => {
  assert.equal(await sgrUnder('xterm'), '37');
});

test('every nick colour is drawn readable on 8 and on 256 colours: never black or blue', async () => {
  for (const color of NICK_PALETTE) {
    // 8 colours: each folds onto a base colour 31-33, 35-36 (red, green, yellow, magenta, cyan).
    assert.match(await sgrUnder('xterm', color), /^3[12356]$/, `${color} on 8 colours`);
    // 256 colours: the base or the bright variant, still never 30/34 or 90/94.
    assert.match(await sgrUnder('xterm-256color', color), /^(3|9)[12356]$/, `${color} on 256 colours`);
  }
});
