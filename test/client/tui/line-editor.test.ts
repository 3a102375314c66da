import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputHistory, KillRing, LineEditor } from '../../../src/client/tui/line-editor.ts';

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

/** Type `text` then apply the keys (blessed names) in order. */
function edited(text: string, ...keys: string[]): LineEditor {
  const e = new LineEditor('', { multiline: true });
  e.insert(text);
  for (const key of keys) e.handle(undefined, k(key));
  return e;
}

test('readline: Ctrl-W and Alt-Backspace delete the word before, Alt-D the word after', () => {
  assert.equal(edited('hello wrold', 'C-w').value, 'hello ');
  assert.equal(edited('hello wrold  ', 'C-w').value, 'hello ');
  assert.equal(edited('hello wrold', 'M-backspace', 'M-backspace').value, '');
  const e = edited('one two three', 'C-a', 'M-d');
  assert.equal(e.value, ' two three');
  assert.equal(e.position, 0);
});

test('readline: Ctrl-B/F by character, Alt-B/F by word, Ctrl-A/E to the ends', () => {
  const e = edited('ab cd', 'C-b', 'C-b');
  assert.equal(e.position, 3);
  e.handle(undefined, k('C-f'));
  assert.equal(e.position, 4);
  e.handle(undefined, k('M-b'));
  assert.equal(e.position, 3);
  e.handle(undefined, k('M-b'));
  assert.equal(e.position, 0);
  e.handle(undefined, k('M-f'));
  assert.equal(e.position, 2);
  e.handle(undefined, k('C-e'));
  assert.equal(e.position, 5);
  e.handle(undefined, k('C-a'));
  assert.equal(e.position, 0);
  assert.equal(e.value, 'ab cd', 'no key moved text');
});

test('readline: Ctrl-K and Ctrl-U kill, Ctrl-Y yanks; consecutive kills are yanked together', () => {
  const e = edited('keep this tail', 'M-b', 'C-k');
  assert.equal(e.value, 'keep this ');
  e.handle(undefined, k('C-a'));
  e.handle(undefined, k('C-y'));
  assert.equal(e.value, 'tailkeep this ');
  const w = edited('one two three', 'C-w', 'C-w');
  assert.equal(w.value, 'one ');
  w.handle(undefined, k('C-y'));
  assert.equal(w.value, 'one two three');
  const u = edited('abc def', 'C-b', 'C-b', 'C-u');
  assert.equal(u.value, 'ef');
  u.handle(undefined, k('C-e'));
  u.handle(undefined, k('C-y'));
  assert.equal(u.value, 'efabc d');
});

test('readline: a kill ring shared by two editors (the tabs) yanks across them', () => {
  const kills = new KillRing();
  const a = new LineEditor('secret word', { kills });
  a.handle(undefined, k('C-w'));
  const b = new LineEditor('', { kills });
  b.handle(undefined, k('C-y'));
  assert.equal(b.value, 'word');
});

test('readline: Ctrl-T swaps the characters around the cursor, at the end the last two', () => {
  assert.equal(edited('teh', 'C-t').value, 'the');
  const e = edited('abcd', 'C-a', 'C-f', 'C-t');
  assert.equal(e.value, 'bacd');
  assert.equal(e.position, 2);
  assert.equal(edited('a👍🏽b', 'C-b', 'C-t').value, 'ab👍🏽');
});

test('graphemes: Backspace takes an emoji with its skin tone, a flag, a ZWJ family, a letter with its accent', () => {
  for (const cluster of ['👍🏽', '🇫🇮', '👨‍👩‍👧', 'n\u0303', '❤️']) {
    const e = edited(`ok ${cluster}`, 'backspace');
    assert.equal(e.value, 'ok ', cluster);
    const f = edited(`${cluster}!`, 'C-a', 'delete');
    assert.equal(f.value, '!', cluster);
    const g = edited(`${cluster}`, 'C-b');
    assert.equal(g.position, 0, cluster);
  }
  // Typed as blessed delivers it: the thumb (two halves), then the modifier (two halves).
  const typed = new LineEditor();
  for (const unit of '👍🏽') typed.handle(unit, { name: undefined });
  typed.handle(undefined, k('backspace'));
  assert.equal(typed.value, '');
});

test('multi-line: Alt-Enter adds a line in a multi-line editor only; Up/Down move between rows', () => {
  const single = new LineEditor('a');
  single.handle(undefined, k('M-enter'));
  assert.equal(single.value, 'a');
  const e = edited('first', 'M-enter');
  e.insert('second line');
  assert.equal(e.value, 'first\nsecond line');
  assert.equal(e.rowCount, 2);
  assert.equal(e.moveRow(-1), true);
  assert.equal(e.position, 5, 'column kept within the shorter row');
  assert.equal(e.moveRow(-1), false);
  e.handle(undefined, k('C-a'));
  assert.equal(e.position, 0, 'Ctrl-A goes to the start of the row');
  assert.equal(e.moveRow(1), true);
  assert.equal(e.position, 6);
  e.handle(undefined, k('C-e'));
  assert.equal(e.position, e.value.length);
});

test('pasted text keeps its lines in a multi-line editor, is folded in a field, loses control characters', () => {
  const e = new LineEditor('', { multiline: true });
  e.insertText('one\r\n\r\nthree\tx\x1b[31m\n');
  assert.equal(e.value, 'one\n\nthree    x[31m');
  const field = new LineEditor();
  field.insertText('pass\nword\n');
  assert.equal(field.value, 'pass word');
});
