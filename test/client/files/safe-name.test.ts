/** The name a received file gets (PROTOCOL.md section 6.7, "Names"): pure cases. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capBytes, safeFileName, withSuffix } from '../../../src/client/files/safe-name.ts';
import { FILE_NAME_MAX_BYTES } from '../../../src/net/constants.ts';

const cases: [string, string, string][] = [
  ['plain', 'photo.jpg', 'photo.jpg'],
  ['path traversal', '../../etc/passwd', '_.._etc_passwd'],
  ['absolute path', '/etc/shadow', '_etc_shadow'],
  ['windows path', 'C:\\Windows\\system32\\drivers', 'C__Windows_system32_drivers'],
  ['dot dot', '..', 'file'],
  ['dot', '.', 'file'],
  ['hidden file', '.bashrc', 'bashrc'],
  ['leading dash (an option to tools)', '-rf', 'rf'],
  ['NUL', 'a\u0000b.txt', 'ab.txt'],
  ['escape sequences', '\u001b]0;pwned\u0007evil\u001b[2J.txt', 'evil.txt'],
  ['C1 CSI', 'x\u009b31my.txt', 'xy.txt'],
  ['newline', 'two\nlines.txt', 'two lines.txt'],
  ['bidi override', 'invoice\u202Etxt.exe', 'invoicetxt.exe'],
  ['device name', 'CON', '_CON'],
  ['device name with extension', 'nul.txt', '_nul.txt'],
  ['device name COM1', 'com1.log', '_com1.log'],
  ['not a device', 'console.txt', 'console.txt'],
  ['trailing dots and spaces', 'report.txt. . ', 'report.txt'],
  ['windows reserved characters', 'a<b>c:"d"|e?f*.txt', 'a_b_c__d__e_f_.txt'],
  ['only control characters', '\u0001\u0002', 'file'],
  ['only escape', '\u001b[31m', 'file'],
];

for (const [what, offered, expected] of cases) {
  test(`safeFileName: ${what}`, () => {
    const name = safeFileName(offered);
    assert.equal(name, expected);
    assert.ok(!name.includes('/') && !name.includes('\\') && name !== '..' && name !== '.');
  });
}

test('a long name is cut to FILE_NAME_MAX_BYTES of UTF-8 on a character boundary, keeping its extension', () => {
  const name = safeFileName('€'.repeat(300) + '.tar.gz');
  assert.ok(Buffer.byteLength(name) <= FILE_NAME_MAX_BYTES);
  assert.ok(name.endsWith('.tar.gz'));
  assert.ok(!name.includes('\ufffd'));
  assert.equal(capBytes('😀'.repeat(10), 7), '😀');
});

test('withSuffix puts " (n)" before the extension', () => {
  assert.equal(withSuffix('a.txt', 0), 'a.txt');
  assert.equal(withSuffix('a.txt', 2), 'a (2).txt');
  assert.equal(withSuffix('README', 1), 'README (1)');
});
