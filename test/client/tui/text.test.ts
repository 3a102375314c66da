import assert from 'node:assert/strict';
import { test } from 'node:test';
import blessed from 'blessed';
import { escapeTags, fitCells, padCells, plain, plainLine, shortFingerprint } from '../../../src/client/tui/text.ts';
import { isExtraWide, textWidth } from '../../../src/term/unicode-width.ts';
import { withScreen } from '../../helpers/terminal.ts';

test('plain text: tags escaped, tabs laid out, one-line fields folded (sanitising is done on receipt, not here)', () => {
  assert.equal(plain('hi {bold}x{/bold}\tend\nnext'), 'hi {open}bold{close}x{open}/bold{close}  end\nnext');
  assert.equal(plainLine('a\nb\tc {x}'), 'a b c {open}x{close}');
  assert.equal(escapeTags('{}'), '{open}{close}');
});

test('widths: emoji and CJK take two cells', () => {
  assert.equal(textWidth('😀'), 2);
  assert.equal(textWidth('日本'), 4);
  assert.equal(textWidth('é'), 1);
  assert.ok(isExtraWide(0x1f44d));
  assert.ok(!isExtraWide(0x41));
  assert.equal(textWidth(padCells('😀', 5)), 5);
  assert.equal(fitCells('abcdef', 4), 'abc…');
  assert.equal(textWidth(fitCells('😀😀😀', 5)), 5);
});

test('short fingerprint keeps the first and last two bytes', () => {
  assert.equal(shortFingerprint('AA:BB:CC:DD:EE:FF'), 'AA:BB…EE:FF');
});

test('emoji and wide characters keep a box border in its column', async () => {
  await withScreen({ cols: 40, rows: 8 }, async (screen, vt) => {
    blessed.box({
      parent: screen,
      top: 0,
      left: 0,
      width: 20,
      height: 6,
      border: 'line',
      tags: true,
      content: 'ab 日本語 x\n😀 emoji 👍x\n⚡ok é\n{bold}b{/bold}',
    });
    screen.render();
    await vt.waitForText('emoji');
    for (let y = 1; y <= 4; y++) {
      const cells = vt.cells(y);
      assert.equal(cells[19]?.chars, '│', `row ${y}: border at column 19 in ${JSON.stringify(vt.line(y))}`);
    }
  });
});
