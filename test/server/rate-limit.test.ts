/**
 * Failed-login back-off and registration limits (PROTOCOL.md section 4.4). The server takes
 * an injected clock, so lockouts are tested without waiting for them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKOFF_BASE_MS, FREE_FAILURES_PER_IP, FREE_FAILURES_PER_USER } from '../../src/net/constants.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { FailureBackoff, WindowLimiter } from '../../src/server/rate-limit.ts';
import { serverWithClients, testServer } from '../helpers/server.ts';
import { attemptThrottleContract, manualClock, rateLimiterContract } from './rate-limit-contract.ts';

function rateLimited(err: unknown): number {
  assert.ok(err instanceof ProtocolError, String(err));
  assert.equal(err.code, ErrorCode.RATE_LIMITED, err.message);
  assert.ok(typeof err.retryAfterMs === 'number' && err.retryAfterMs > 0, 'retryAfterMs is set');
  return err.retryAfterMs;
}

const authFailed = (err: unknown) => err instanceof ProtocolError && err.code === ErrorCode.AUTH_FAILED;

// The in-process limiters against the contract any shared (cluster) one must also pass.
attemptThrottleContract(
  'FailureBackoff',
  ({ freeFailures, now, inFlight }) => new FailureBackoff(freeFailures, now, inFlight),
);
rateLimiterContract('WindowLimiter', ({ limit, windowMs, now }) => new WindowLimiter(limit, windowMs, now));

describe('login rate limiting over loopback', () => {
  test('repeated wrong passwords lock the name, even against the right password, until the wait is over', async (t) => {
    const clock = manualClock();
    const { server } = await serverWithClients(t, { users: ['grace'], password: 'grace-password', now: clock.now });
    const attacker = await server.client();
    for (let i = 0; i <= FREE_FAILURES_PER_USER; i++)
      await assert.rejects(attacker.login('grace', `guess ${i}`), authFailed);
    const wait = rateLimited(await attacker.login('grace', 'guess again').catch((e: unknown) => e));
    assert.equal(wait, BACKOFF_BASE_MS);
    // The real user, from another connection, with the right password: still locked.
    const owner = await server.client();
    assert.equal(rateLimited(await owner.login('GRACE', 'grace-password').catch((e: unknown) => e)), BACKOFF_BASE_MS);
    clock.advance(wait);
    const session = await owner.login('grace', 'grace-password');
    assert.equal(session.user, 'grace');
  });

  test('the back-off grows with every failure after the lockout', async (t) => {
    const clock = manualClock();
    const { server } = await serverWithClients(t, { users: ['heidi'], password: 'heidi-password', now: clock.now });
    const attacker = await server.client();
    const waits: number[] = [];
    for (let i = 0; i < FREE_FAILURES_PER_USER; i++)
      await assert.rejects(attacker.login('heidi', 'wrong password'), authFailed);
    for (let round = 0; round < 3; round++) {
      await assert.rejects(attacker.login('heidi', 'wrong password'), authFailed);
      const wait = rateLimited(await attacker.login('heidi', 'wrong password').catch((e: unknown) => e));
      waits.push(wait);
      clock.advance(wait);
    }
    assert.deepEqual(waits, [BACKOFF_BASE_MS, 2 * BACKOFF_BASE_MS, 4 * BACKOFF_BASE_MS]);
  });

  test('many failures from one IP across names lock that IP out for every name', async (t) => {
    const clock = manualClock();
    const { server } = await serverWithClients(t, { users: ['ivan'], password: 'ivan-password', now: clock.now });
    const sprayer = await server.client();
    for (let i = 0; i <= FREE_FAILURES_PER_IP; i++)
      await assert.rejects(sprayer.login(`victim${i}`, 'Password1'), authFailed);
    rateLimited(await sprayer.login('someone-else', 'Password1').catch((e: unknown) => e));
    const sameIp = await server.client();
    rateLimited(await sameIp.login('ivan', 'ivan-password').catch((e: unknown) => e));
  });

  test('wrong passwords sent in parallel get no more checks than sent one by one', async (t) => {
    const { server } = await serverWithClients(t, { users: ['judy'], password: 'judy-password' });
    const attackers = await Promise.all(Array.from({ length: 20 }, () => server.client()));
    const results = await Promise.all(attackers.map((c, i) => c.login('judy', `guess ${i}`).catch((e: unknown) => e)));
    const checked = results.filter(authFailed).length;
    assert.equal(checked, FREE_FAILURES_PER_USER, 'only the free failures were checked');
    for (const r of results.filter((r) => !authFailed(r))) rateLimited(r);
  });

  test('passwords that are not well-formed Unicode are refused, not folded into U+FFFD', async (t) => {
    const server = await testServer(t);
    const client = await server.client();
    for (const pass of ['\ud800'.repeat(8), 'password\udc00', 'pass\ufffdword']) {
      await assert.rejects(
        client.register('kate', pass),
        (err: unknown) => err instanceof ProtocolError && err.code === ErrorCode.BAD_MESSAGE,
      );
    }
    assert.equal(server.app.core.store.size, 0);
    await client.register('kate', 'pass 👍 word');
  });

  test('registrations per IP per minute are limited, and "taken" is not an unlimited way around it', async (t) => {
    const clock = manualClock();
    const { server } = await serverWithClients(t, {
      users: ['leo'],
      password: 'password-1',
      now: clock.now,
      registrationsPerMinutePerIp: 1,
    });
    const prober = await server.client();
    rateLimited(await prober.register('leo', 'password-2').catch((e: unknown) => e));
  });

  test('registrations per IP per minute are limited', async (t) => {
    const clock = manualClock();
    const server = await testServer(t, { now: clock.now, registrationsPerMinutePerIp: 2 });
    await (await server.client()).register('reg1', 'password-1');
    await (await server.client()).register('reg2', 'password-2');
    const third = await server.client();
    const wait = rateLimited(await third.register('reg3', 'password-3').catch((e: unknown) => e));
    assert.equal(wait, 60_000);
    assert.equal(server.app.core.store.size, 2);
    clock.advance(wait);
    await third.register('reg3', 'password-3');
  });
});
