/** Terminal colour detection of the screen (src/client/tui/screen.ts), over injected streams. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import blessed from 'blessed';
import { createScreen } from '../../../src/client/tui/screen.ts';
import { waitFor } from '../../helpers/wait.ts';

/** The SGR sequence blessed writes before a grey word, under TERM=`term`. */
async function grayUnder(term: string): Promise<string> {
  const saved = process.env.TERM;
  process.env.TERM = term;
  const input = new PassThrough();
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 40, rows: 5 });
  let written = '';
  output.on('data', (d: Buffer) => (written += d.toString()));
  const screen = createScreen({ input, output });
  try {
    blessed.box({ parent: screen, content: '{gray-fg}hint{/gray-fg}', tags: true });
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
  assert.equal(await grayUnder('tmux-256color'), '90');
  assert.equal(await grayUnder('xterm-256color'), '90');
});

test('grey is drawn white, not black (invisible on a dark background), on an 8-colour terminal', async () => {
  assert.equal(await grayUnder('xterm'), '37');
});
