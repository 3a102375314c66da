/**
 * Failed-login back-off (PROTOCOL.md section 4.4) counts an attempt whose client hangs up
 * right after sending it: otherwise hanging up would make every password check free.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FREE_FAILURES_PER_USER, PROTOCOL_VERSION } from '../../src/net/constants.ts';
import { ErrorCode } from '../../src/net/errors.ts';
import { RawClient } from '../helpers/raw.ts';
import { startTestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

test('wrong logins sent by clients that hang up at once still count toward the back-off', async (t) => {
  // A clock that stands still: the block after the last guess cannot run out mid-test.
  const frozen = Date.now();
  const server = await startTestServer({ now: () => frozen });
  const failures: string[] = [];
  server.app.core.on('login_failed', (e) => failures.push(e.code));
  defer(t, () => server.close());
  const owner = await RawClient.open(server.port, { localAddress: '127.0.0.2' });
  assert.equal((await owner.auth('register', 'hank', 'hank-password')).t, 'welcome');
  await owner.close();
  // The free failures, and one more: that one sets a block.
  const guesses = FREE_FAILURES_PER_USER + 1;
  for (let i = 0; i < guesses; i++) {
    const guesser = await RawClient.open(server.port, { localAddress: '127.0.0.3' });
    guesser.send({ t: 'login', id: 1, proto: PROTOCOL_VERSION, user: 'hank', pass: `guess-${i}-password` });
    guesser.socket.destroy(); // gone before the answer
    // Each guess is checked before the next (as a patient attacker would).
    await waitFor(() => failures.length === i + 1, { what: `guess ${i + 1} checked` });
  }
  assert.deepEqual(failures, Array(guesses).fill(ErrorCode.AUTH_FAILED), 'every guess was checked, and failed');
  // Past the free failures the account is blocked: even the right password waits.
  const late = await RawClient.open(server.port, { localAddress: '127.0.0.4' });
  defer(t, () => late.close());
  const answer = await late.auth('login', 'hank', 'hank-password');
  assert.equal(answer.t, 'error');
  assert.equal(answer.t === 'error' && answer.code, ErrorCode.RATE_LIMITED);
  assert.ok(answer.t === 'error' && (answer.retryAfterMs ?? 0) > 0);
});
