/**
 * The size rules both ends share (src/net/text-limits.ts): the count is in UTF-8 bytes, the
 * limit itself is allowed, one byte more is refused with the code and sizes a front end words.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_BROADCAST_TEXT_BYTES, MAX_CHAT_TEXT_BYTES } from '../../src/net/constants.ts';
import { ErrorCode } from '../../src/net/errors.ts';
import {
  broadcastTextTooLarge,
  chatTextTooLarge,
  TextTooLargeError,
  utf8BytesOver,
} from '../../src/net/text-limits.ts';

test('utf8BytesOver counts UTF-8 bytes, not UTF-16 units', () => {
  assert.equal(utf8BytesOver('', 0), 0);
  assert.equal(utf8BytesOver('abc', 3), 0);
  assert.equal(utf8BytesOver('abcd', 3), 4);
  assert.equal(utf8BytesOver('é', 1), 2); // one unit, two bytes
  assert.equal(utf8BytesOver('😀', 3), 4); // two units, four bytes
  assert.equal(utf8BytesOver('😀', 4), 0);
  assert.equal(utf8BytesOver('€'.repeat(10), 30), 0); // three bytes a unit: exactly at the limit
  assert.equal(utf8BytesOver('€'.repeat(10), 29), 30);
});

for (const [name, check, limit, code] of [
  ['chat message', chatTextTooLarge, MAX_CHAT_TEXT_BYTES, ErrorCode.MESSAGE_TOO_LARGE],
  ['broadcast', broadcastTextTooLarge, MAX_BROADCAST_TEXT_BYTES, ErrorCode.BROADCAST_TOO_LARGE],
] as const) {
  test(`${name}: at the limit passes, one byte over is ${code} with the sizes`, () => {
    assert.equal(check('x'.repeat(limit)), null);
    assert.equal(check(`${'x'.repeat(limit - 2)}é`), null);
    const err = check(`${'x'.repeat(limit - 1)}é`);
    assert.ok(err instanceof TextTooLargeError);
    assert.equal(err.code, code);
    assert.deepEqual([err.bytes, err.limitBytes], [limit + 1, limit]);
    assert.match(err.message, new RegExp(`${limit + 1}`));
  });
}
