/** Tab completion (completion.ts): commands, usernames, cycling forward and back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Completer, knownUsers, type Candidates } from '../../../src/client/tui/completion.ts';
import { COMMAND_NAMES } from '../../../src/client/tui/commands.ts';

const candidates: Candidates = { commands: COMMAND_NAMES, users: ['bob', 'Bea', 'carol', 'bo'] };
const all = () => candidates;

/** The line after Tab (step 1) or Shift-Tab (-1) presses, from `text` with the cursor at its end (or at `|`). */
function press(c: Completer, text: string, steps: Array<1 | -1>): string[] {
  const at = text.indexOf('|');
  let points = [...text.replace('|', '')];
  let cursor = at < 0 ? points.length : [...text.slice(0, at)].length;
  const seen: string[] = [];
  for (const step of steps) {
    const done = c.complete(points, cursor, step, all);
    if (!done) {
      seen.push('(none)');
      continue;
    }
    points = [...done.value];
    cursor = done.cursor;
    seen.push(
      `${done.value.slice(0, [...done.value].slice(0, cursor).join('').length)}|${done.value.slice([...done.value].slice(0, cursor).join('').length)}`,
    );
  }
  return seen;
}

test('a /command at the start of the line, with a space after it', () => {
  assert.deepEqual(press(new Completer(), '/bro', [1]), ['/broadcast |']);
  assert.deepEqual(press(new Completer(), '/c', [1, 1, 1, 1]), ['/connect |', '/close |', '/cancel |', '/connect |']);
  assert.deepEqual(press(new Completer(), '/zz', [1]), ['(none)']);
});

test('usernames in the order given, case-insensitive; at the start of a message "name: "', () => {
  assert.deepEqual(press(new Completer(), 'b', [1, 1, 1, 1]), ['bob: |', 'Bea: |', 'bo: |', 'bob: |']);
  assert.deepEqual(press(new Completer(), 'hi C', [1]), ['hi carol |']);
  assert.deepEqual(press(new Completer(), '/connect ca', [1]), ['/connect carol |']);
});

test('Shift-Tab goes back; the text after the cursor stays', () => {
  assert.deepEqual(press(new Completer(), 'b', [-1, -1, 1]), ['bo: |', 'Bea: |', 'bo: |']);
  assert.deepEqual(press(new Completer(), 'hey ca| how are you', [1]), ['hey carol| how are you']);
});

test('after any other edit, Tab starts afresh from the new word', () => {
  const c = new Completer();
  assert.deepEqual(press(c, 'b', [1]), ['bob: |']);
  assert.deepEqual(press(c, 'bob: c', [1]), ['bob: carol |']);
  c.reset();
  assert.deepEqual(press(c, 'bob: carol ', [1]), ['(none)'], 'nothing to complete after a space');
});

test('knownUsers: online first, then the others, each once whatever its case, never ourselves', () => {
  assert.deepEqual(
    knownUsers('Alice', [
      ['bob', 'alice'],
      ['Carol', 'BOB', 'dave'],
      ['dave', 'ALICE'],
    ]),
    ['bob', 'Carol', 'dave'],
  );
});
