/** Bracketed paste framing (paste.ts): fed one piece at a time, as a terminal's bytes may arrive. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_PASTE_UNITS,
  PASTE_END,
  PASTE_START,
  PasteFramer,
  type InputSegment,
} from '../../../src/client/tui/paste.ts';

/** Feed `input` in pieces of `size` and merge neighbouring key segments (how they were cut does not matter). */
function frame(input: string, size: number): InputSegment[] {
  const framer = new PasteFramer();
  const out: InputSegment[] = [];
  for (let i = 0; i < input.length; i += size) {
    for (const s of [...framer.push(input.slice(i, i + size)), ...(i + size >= input.length ? framer.flush() : [])]) {
      const last = out[out.length - 1];
      if (s.kind === 'keys' && last?.kind === 'keys') last.text += s.text;
      else out.push({ ...s });
    }
  }
  return out;
}

const paste = `line 1\r\rline 3\r${'\x1b[A'}line 4\r`;
const input = `ab${PASTE_START}${paste}${PASTE_END}\r\x1b\rcd\x1b`;
const expected: InputSegment[] = [
  { kind: 'keys', text: 'ab' },
  { kind: 'paste', text: paste, truncated: false },
  { kind: 'keys', text: '\r' },
  { kind: 'newline' },
  { kind: 'keys', text: 'cd\x1b' },
];

for (const size of [1, 2, 3, 5, 7, input.length]) {
  test(`keys, a paste with line ends and an arrow inside, Alt-Enter: in pieces of ${size}`, () => {
    assert.deepEqual(frame(input, size), expected);
  });
}

test('a lone Esc waits for flush(); a marker cut after "ESC [" waits for the rest', () => {
  const framer = new PasteFramer();
  assert.deepEqual(framer.push('x\x1b'), [{ kind: 'keys', text: 'x' }]);
  assert.equal(framer.holding, true);
  assert.deepEqual(framer.flush(), [{ kind: 'keys', text: '\x1b' }]);
  assert.equal(framer.holding, false);
  assert.deepEqual(framer.push('\x1b[2'), []);
  assert.deepEqual(framer.push('00~hi'), []);
  assert.deepEqual(framer.push(`${PASTE_END}`), [{ kind: 'paste', text: 'hi', truncated: false }]);
  // "ESC [" followed by something else was an ordinary key sequence after all.
  assert.deepEqual(framer.push('\x1b['), []);
  assert.deepEqual(framer.push('A'), [{ kind: 'keys', text: '\x1b[A' }]);
});

test('a paste over the limit keeps its start and says it was cut; what follows is keys again', () => {
  const big = 'x'.repeat(MAX_PASTE_UNITS + 10);
  const out = frame(`${PASTE_START}${big}${PASTE_END}ok`, 4096);
  assert.equal(out.length, 2);
  const [first, second] = out;
  assert.equal(first?.kind, 'paste');
  if (first?.kind === 'paste') {
    assert.equal(first.text.length, MAX_PASTE_UNITS);
    assert.equal(first.truncated, true);
  }
  assert.deepEqual(second, { kind: 'keys', text: 'ok' });
});
