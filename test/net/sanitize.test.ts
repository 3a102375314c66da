/** Terminal-safe text (PROTOCOL.md section 6.5). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { sanitizeLine, sanitizeText } from '../../src/net/sanitize.ts';

const cases: Array<[name: string, input: string, expected: string]> = [
  ['plain text is untouched', 'hello, world!', 'hello, world!'],
  ['CSI colour codes', '\u001b[31mred\u001b[0m text', 'red text'],
  ['CSI cursor movement and erase', 'a\u001b[2J\u001b[10;20Hb\u001b[?25l', 'ab'],
  ['CSI without a final byte at the end', 'x\u001b[12', 'x'],
  ['OSC window title ended by BEL', '\u001b]0;pwned\u0007after', 'after'],
  ['OSC 8 hyperlink ended by ST keeps the link text', '\u001b]8;;http://evil\u001b\\click\u001b]8;;\u001b\\', 'click'],
  ['OSC 52 clipboard write', '\u001b]52;c;cm0gLXJmIH4=\u0007ok', 'ok'],
  ['DCS string', '\u001bP1$r\u001b\\x', 'x'],
  ['unterminated OSC eats the rest', 'a\u001b]0;title', 'a'],
  ['two-character escapes', 'a\u001bcb\u001b7c', 'abc'],
  ['8-bit CSI', 'a\u009b31mb', 'ab'],
  ['8-bit OSC ended by ST', 'a\u009d0;title\u009cb', 'ab'],
  ['other C1 controls', 'a\u0085b\u0086c\u0099d', 'abcd'],
  ['8-bit DCS without a terminator eats the rest', 'a\u0090qwe', 'a'],
  ['C0 controls except newline', 'a\u0000b\u0007c\u0008d\u000be\u000cf\u007fg', 'abcdefg'],
  ['newlines are kept (a message of several lines); a tab becomes a space', 'line 1\n\n\tline 3', 'line 1\n\n line 3'],
  ['CR LF and lone CR become newlines', 'a\r\nb\rc', 'a\nb\nc'],
  ['bidi overrides and isolates', 'abc\u202etxt.exe\u202c \u2066x\u2069 \u200f\u061c', 'abctxt.exe x '],
  ['emoji, skin tones, ZWJ sequences and flags are kept', 'ok 👍🏽 👨‍👩‍👧 🇫🇮 ❤️', 'ok 👍🏽 👨‍👩‍👧 🇫🇮 ❤️'],
  ['CJK, accents and combining marks are kept', '日本語 é ё n\u0303', '日本語 é ё n\u0303'],
];

for (const [name, input, expected] of cases) {
  test(`sanitizeText: ${name}`, () => assert.equal(sanitizeText(input), expected));
}

test('sanitizeLine folds newlines and tabs into spaces', () => {
  assert.equal(sanitizeLine('a\nb\tc\r\nd'), 'a b c d');
});

// eslint-disable-next-line no-control-regex -- the characters the sanitiser must remove, control characters included
const DANGEROUS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

test('property: output never holds a control or bidi character, and sanitising is idempotent', () => {
  const nasty = fc.constantFrom(
    '\u001b',
    '[',
    ']',
    '\u0007',
    '\\',
    '\u009b',
    '\u009c',
    '\u009d',
    '\r',
    '\n',
    '\t',
    '\u202e',
    '\u0000',
    'P',
    'm',
    '1',
    ';',
    'a',
    '😀',
  );
  const input = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.array(nasty, { maxLength: 40 }).map((a) => a.join('')),
  );
  fc.assert(
    fc.property(input, (text) => {
      const out = sanitizeText(text);
      assert.ok(!DANGEROUS.test(out) && !out.includes('\t'), JSON.stringify(out));
      assert.equal(sanitizeText(out), out);
      assert.ok(!/[\n\t]/.test(sanitizeLine(text)));
    }),
    { numRuns: 300 },
  );
});

test('property: printable ASCII and ordinary Unicode text passes through unchanged', () => {
  const safe = fc.string({ unit: 'grapheme' }).filter((s) => !DANGEROUS.test(s) && !s.includes('\r'));
  fc.assert(
    fc.property(safe, (text) => assert.equal(sanitizeText(text), text)),
    { numRuns: 500 },
  );
});
