/** Word wrapping into rows (src/client/tui/wrap.ts), without a screen. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { rowCost, textWidth } from '../../../src/term/unicode-width.ts';
import { wrapSpans } from '../../../src/client/tui/wrap.ts';

/** A row as the terminal shows it: tags gone, blessed's escapes turned back into braces. */
const shown = (row: string) =>
  row.replace(/\{(open|close)\}|\{[^}]*\}/g, (_, esc) => (esc === 'open' ? '{' : esc === 'close' ? '}' : ''));

test('words wrap at spaces; no row is wider than the width', () => {
  const rows = wrapSpans([{ text: 'the quick brown fox jumps over the lazy dog' }], 12).map(shown);
  assert.deepEqual(rows, ['the quick ', 'brown fox ', 'jumps over ', 'the lazy dog']);
});

test('styles stay on their runs across a break; braces in the text are escaped', () => {
  const rows = wrapSpans(
    [{ text: 'bob', open: '{bold}', close: '{/bold}' }, { text: ': {red-fg}hi{/red-fg} there' }],
    14,
  );
  // '{red-fg}hi{/red-fg}' is one word longer than a row: cut at the edge.
  assert.equal(rows[0], '{bold}bob{/bold}: {open}red-fg{close}h');
  assert.deepEqual(rows.map(shown), ['bob: {red-fg}h', 'i{/red-fg}', 'there']);
});

test('a word longer than a row is cut by cells, wide characters never split', () => {
  const rows = wrapSpans([{ text: '日本語日本語日本語 x' }], 5).map(shown);
  for (const row of rows) assert.ok(textWidth(row) <= 5, row);
  assert.equal(rows.join('').replace(/ /g, ''), '日本語日本語日本語x');
});

test('an emoji or a combining mark costs one more than its cells (blessed cuts rows by UTF-16 units)', () => {
  assert.equal(rowCost('abc'), 3);
  assert.equal(rowCost('日本'), 4);
  assert.equal(rowCost('👍'), 3);
  assert.equal(rowCost('e\u0301'), 2);
  const text = `👍 ${'x'.repeat(16)}Z next`;
  assert.deepEqual(wrapSpans([{ text }], 21).map(shown), [`👍 ${'x'.repeat(16)}Z`, 'next']);
  // 20 cells would hold the first row, but blessed would clip its Z: the word moves down.
  assert.deepEqual(wrapSpans([{ text }], 20).map(shown), ['👍 ', `${'x'.repeat(16)}Z `, 'next']);
});

test('newlines in the text break rows; empty text is one empty row', () => {
  assert.deepEqual(wrapSpans([{ text: 'one\ntwo' }], 20).map(shown), ['one', 'two']);
  assert.deepEqual(wrapSpans([{ text: '' }], 20), ['']);
});

test('property: every row fits, and no character other than a space is lost or added', () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom('a', 'bb ', ' ', '日', '👍', 'word ', 'x'.repeat(30), '{', '}'), { maxLength: 60 }),
      fc.integer({ min: 1, max: 40 }),
      (parts, width) => {
        const text = parts.join('');
        const chars = [...text];
        const spans = [
          { text: chars.slice(0, 5).join(''), open: '{bold}', close: '{/bold}' },
          { text: chars.slice(5).join('') },
        ];
        const rows = wrapSpans(spans, width).map(shown);
        for (const row of rows)
          assert.ok(
            textWidth(row) <= Math.max(width, 2) && rowCost(row) <= Math.max(width, 3),
            `${JSON.stringify(row)} is wider than ${width}`,
          );
        assert.equal(rows.join('').replace(/ /g, ''), text.replace(/ /g, ''));
      },
    ),
  );
});
