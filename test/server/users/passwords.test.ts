/** Password hashing (src/server/users/passwords.ts) at the test cost. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, ProtocolError } from '../../../src/net/errors.ts';
import { isScryptHash, PasswordHasher } from '../../../src/server/users/passwords.ts';
import { TEST_SCRYPT_LOG_N } from '../../helpers/server.ts';

test('hash and verify', async () => {
  const hasher = new PasswordHasher({ logN: TEST_SCRYPT_LOG_N });
  const hash = await hasher.hash('correct horse 🐎');
  assert.ok(isScryptHash(hash));
  assert.notEqual(await hasher.hash('correct horse 🐎'), hash, 'salted');
  assert.equal(await hasher.verify(hash, 'correct horse 🐎'), true);
  assert.equal(await hasher.verify(hash, 'correct horse'), false);
  assert.equal(await hasher.verifyNobody('anything'), false);
});

test('isScryptHash accepts only scrypt-kdf keys', () => {
  assert.equal(isScryptHash(''), false);
  assert.equal(isScryptHash('not base64!'), false);
  assert.equal(isScryptHash(Buffer.alloc(96).toString('base64')), false);
  assert.equal(isScryptHash(Buffer.concat([Buffer.from('scrypt'), Buffer.alloc(89)]).toString('base64')), false);
});

test('the cost must be in range', () => {
  for (const logN of [9, 21, 14.5]) assert.throws(() => new PasswordHasher({ logN }), RangeError);
});

test('hashes in flight are bounded and an overflowing queue is refused with E_SERVER_BUSY', async () => {
  const hasher = new PasswordHasher({ logN: TEST_SCRYPT_LOG_N, concurrency: 1, maxQueued: 2 });
  const attempts = Array.from({ length: 6 }, () => hasher.hash('password'));
  assert.equal(hasher.inFlight, 1);
  assert.equal(hasher.queued, 2);
  const results = await Promise.allSettled(attempts);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
  for (const r of results) {
    if (r.status === 'rejected')
      assert.ok(r.reason instanceof ProtocolError && r.reason.code === ErrorCode.SERVER_BUSY && r.reason.retryAfterMs);
  }
  assert.equal(hasher.inFlight, 0);
  assert.equal(hasher.queued, 0);
});
