/**
 * The server's error messages are free text the user sees (forms, notes): the client core
 * sanitises them on receipt, like every text from the network (src/net/sanitize.ts), so the
 * TUI, which only escapes markup, never hands an escape sequence to the terminal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../src/net/errors.ts';
import { toError } from '../../src/net/error-message.ts';

test('an error message from the server is sanitised and folded to one line on receipt', () => {
  const err = toError({
    t: 'error',
    code: ErrorCode.QUEUE_FULL,
    message: '\u001b]0;owned\u0007queue\u001b[2J full\nnow\u202e',
    retryAfterMs: 5,
  });
  assert.equal(err.code, ErrorCode.QUEUE_FULL);
  assert.equal(err.message, 'queue full now');
  assert.equal(err.retryAfterMs, 5);
});

test('an unknown code is kept as E_INTERNAL with the sanitised text', () => {
  const err = toError({ t: 'error', code: 'E_FROM_THE_FUTURE', message: 'new \u009b31mthing' });
  assert.deepEqual([err.code, err.message], [ErrorCode.INTERNAL, 'new thing']);
});
