import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputHistory, LineEditor } from '../../../src/client/tui/line-editor.ts';

const k = (full: string) => ({ full, name: full });

test('typing, cursor movement and deletion', () => {
  const e = new LineEditor();
  for (const ch of 'helo') e.handle(ch, { name: ch });
  e.handle(undefined, k('left'));
  e.handle('l', { name: 'l' });
  assert.equal(e.value, 'hello');
  e.handle(undefined, k('home'));
  e.handle(undefined, k('delete'));
  assert.equal(e.value, 'ello');
  e.handle(undefined, k('end'));
  e.handle(undefined, k('backspace'));
  assert.equal(e.value, 'ell');
  e.handle(undefined, k('C-u'));
  assert.equal(e.value, '');
});

test('an emoji delivered as two surrogate halves is one character', () => {
  const e = new LineEditor();
  const [hi, lo] = ['😀'.charAt(0), '😀'.charAt(1)];
  e.handle(hi, { name: undefined });
  e.handle(lo, { name: undefined });
  assert.equal(e.value, '😀');
  assert.equal(e.position, 1);
  e.handle(undefined, k('backspace'));
  assert.equal(e.value, '');
});

test('control characters are never inserted', () => {
  const e = new LineEditor();
  e.insert('a\x1b[31mb\x07\u009bc');
  assert.equal(e.value, 'a[31mbc');
});

test('history: up goes back, down returns to the draft', () => {
  const h = new InputHistory(3);
  for (const l of ['one', 'two', 'two', 'three', 'four']) h.push(l);
  assert.equal(h.size, 3);
  assert.equal(h.previous('draft'), 'four');
  assert.equal(h.previous('four'), 'three');
  assert.equal(h.previous('three'), 'two');
  assert.equal(h.previous('two'), null);
  assert.equal(h.next(), 'three');
  assert.equal(h.next(), 'four');
  assert.equal(h.next(), 'draft');
  assert.equal(h.next(), null);
});
