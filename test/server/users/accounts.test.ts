/**
 * The accounts service on its own (src/server/users/accounts.ts; PROTOCOL.md section 4):
 * pre-checks, registration rules and allowance, password checks, and the back-off, with a
 * real store and hasher and an injected clock. The same rules over a real connection are in
 * test/server/auth.test.ts and rate-limit.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKOFF_BASE_MS, FREE_FAILURES_PER_USER, PROTOCOL_VERSION } from '../../../src/net/constants.ts';
import { ErrorCode, ProtocolError } from '../../../src/net/errors.ts';
import type { ServerEvents } from '../../../src/server/events.ts';
import { Accounts } from '../../../src/server/users/accounts.ts';
import { MemoryUserStore } from '../../../src/server/users/memory-store.ts';
import { hashCost, PasswordHasher, scryptHash } from '../../../src/server/users/passwords.ts';
import { TEST_SCRYPT_LOG_N } from '../../helpers/server.ts';
import { manualClock } from '../rate-limit-contract.ts';

function setup(registrationsPerMinutePerIp = 30) {
  const clock = manualClock();
  const store = new MemoryUserStore();
  const events: { name: keyof ServerEvents; data: unknown }[] = [];
  const accounts = new Accounts(
    {
      store,
      hasher: new PasswordHasher({ logN: TEST_SCRYPT_LOG_N }),
      now: clock.now,
      emit: (name, ...args) => void events.push({ name, data: args[0] }),
    },
    { registrationsPerMinutePerIp },
  );
  return { accounts, store, clock, events };
}

const client = (ip: string, isClosed = false) => ({ ip, isClosed });
const attempt = (user: string, pass: string, proto: number = PROTOCOL_VERSION) => ({ proto, user, pass });
const isCode = (code: string) => (err: unknown) => err instanceof ProtocolError && err.code === code;

async function register(accounts: Accounts, ip: string, user: string, pass: string) {
  return accounts.admitRegistration(client(ip), attempt(user, pass))();
}

async function login(accounts: Accounts, from: { ip: string; isClosed: boolean }, user: string, pass: string) {
  return accounts.admitLogin(from, attempt(user, pass))();
}

describe('accounts', () => {
  test('precheck: the protocol version, then a password that is well-formed Unicode', () => {
    const { accounts } = setup();
    assert.equal(accounts.precheck(attempt('alice', 'password-1'))?.code, undefined);
    assert.equal(accounts.precheck(attempt('alice', 'password-1', PROTOCOL_VERSION + 1))?.code, ErrorCode.VERSION);
    assert.equal(accounts.precheck(attempt('alice', 'pass\uD800word'))?.code, ErrorCode.BAD_MESSAGE);
    assert.equal(accounts.precheck(attempt('alice', 'pass\uFFFDword'))?.code, ErrorCode.BAD_MESSAGE);
  });

  test('register: name and password rules, taken names ignoring case, durable record, event', async () => {
    const { accounts, store, events, clock } = setup();
    assert.throws(
      () => accounts.admitRegistration(client('127.0.0.2'), attempt('-bad', 'password-1')),
      isCode(ErrorCode.BAD_USERNAME),
    );
    assert.throws(
      () => accounts.admitRegistration(client('127.0.0.2'), attempt('alice', 'short')),
      isCode(ErrorCode.WEAK_PASSWORD),
    );
    const record = await register(accounts, '127.0.0.2', 'Alice', 'password-1');
    assert.equal(record.username, 'Alice');
    assert.equal(record.createdAt, clock.now());
    assert.equal(store.get('alice')?.username, 'Alice');
    assert.throws(
      () => accounts.admitRegistration(client('127.0.0.3'), attempt('ALICE', 'password-2')),
      isCode(ErrorCode.USERNAME_TAKEN),
    );
    assert.deepEqual(events, [{ name: 'register', data: { user: 'Alice', ip: '127.0.0.2' } }]);
  });

  test('registrations per IP are limited before "taken" is answered', async () => {
    const { accounts, clock } = setup(2);
    await register(accounts, '127.0.0.2', 'bob', 'password-1');
    await register(accounts, '127.0.0.2', 'carol', 'password-1');
    assert.throws(
      () => accounts.admitRegistration(client('127.0.0.2'), attempt('bob', 'password-1')),
      isCode(ErrorCode.RATE_LIMITED),
    );
    await register(accounts, '127.0.0.3', 'dave', 'password-1');
    clock.advance(60_000);
    await register(accounts, '127.0.0.2', 'erin', 'password-1');
  });

  test('login: the record for the right password, the same error for a wrong one or an unknown name', async () => {
    const { accounts, events } = setup();
    await register(accounts, '127.0.0.2', 'Frank', 'password-1');
    assert.equal((await login(accounts, client('127.0.0.2'), 'frank', 'password-1'))?.username, 'Frank');
    await assert.rejects(login(accounts, client('127.0.0.2'), 'frank', 'password-2'), isCode(ErrorCode.AUTH_FAILED));
    await assert.rejects(login(accounts, client('127.0.0.2'), 'nobody', 'password-1'), isCode(ErrorCode.AUTH_FAILED));
    await assert.rejects(
      login(accounts, client('127.0.0.2'), 'bad\u001b[2Jname', 'password-1'),
      isCode(ErrorCode.AUTH_FAILED),
    );
    const failed = events.filter((e) => e.name === 'login_failed').map((e) => e.data as { user: string; code: string });
    assert.deepEqual(
      failed.map((f) => f.code),
      [ErrorCode.AUTH_FAILED, ErrorCode.AUTH_FAILED, ErrorCode.AUTH_FAILED],
    );
    assert.ok(!failed[2]?.user.includes('\u001b'), 'names are made safe before they reach the log');
  });

  test('failures lock the name before any password work; a client that hung up still counts', async () => {
    const { accounts, clock } = setup();
    await register(accounts, '127.0.0.2', 'gina', 'password-1');
    await assert.rejects(login(accounts, client('127.0.0.3', true), 'gina', 'guess 0'), isCode(ErrorCode.AUTH_FAILED));
    for (let i = 1; i <= FREE_FAILURES_PER_USER; i++) {
      await assert.rejects(login(accounts, client('127.0.0.3'), 'gina', `guess ${i}`), isCode(ErrorCode.AUTH_FAILED));
    }
    // Refused synchronously: admitLogin throws, no check is handed out.
    assert.throws(
      () => accounts.admitLogin(client('127.0.0.4'), attempt('GINA', 'password-1')),
      (err: unknown) => {
        return isCode(ErrorCode.RATE_LIMITED)(err) && (err as ProtocolError).retryAfterMs === BACKOFF_BASE_MS;
      },
    );
    clock.advance(BACKOFF_BASE_MS);
    assert.equal((await login(accounts, client('127.0.0.4'), 'gina', 'password-1'))?.username, 'gina');
    assert.equal(accounts.userFailures.retryAfter('user:gina'), 0, 'a success clears the name');
  });

  test('a right password from a client that already left logs nobody in and does not clear failures', async () => {
    const { accounts } = setup();
    await register(accounts, '127.0.0.2', 'hank', 'password-1');
    for (let i = 0; i < FREE_FAILURES_PER_USER; i++) {
      await assert.rejects(login(accounts, client('127.0.0.3'), 'hank', 'wrong'), isCode(ErrorCode.AUTH_FAILED));
    }
    assert.equal(await login(accounts, client('127.0.0.3', true), 'hank', 'password-1'), undefined);
    await assert.rejects(login(accounts, client('127.0.0.3'), 'hank', 'wrong'), isCode(ErrorCode.AUTH_FAILED));
    assert.ok(accounts.userFailures.retryAfter('user:hank') > 0, 'the earlier failures still count');
  });
  test('re-hash at a higher cost: never while password work is queued, one at a time, then on a later login', async () => {
    const clock = manualClock();
    const store = new MemoryUserStore();
    const hasher = new PasswordHasher({ logN: TEST_SCRYPT_LOG_N + 1, concurrency: 1 });
    const accounts = new Accounts({ store, hasher, now: clock.now, emit: () => {} });
    const old = await scryptHash('password-1', TEST_SCRYPT_LOG_N);
    await store.create({ username: 'alice', passwordHash: old, createdAt: clock.now() });
    // Another login's hash in flight and one queued behind it: the re-hash stands aside.
    const busy = [hasher.hash('someone else 1'), hasher.hash('someone else 2')];
    assert.equal(hasher.queued, 1);
    await accounts.rehashIfOutdated(client('127.0.0.2'), 'alice', 'password-1');
    assert.equal(store.get('alice')?.passwordHash, old, 'no re-hash while logins wait for the hasher');
    await Promise.all(busy);
    // Idle again: the next login re-makes it, durably, at the server's cost.
    await accounts.rehashIfOutdated(client('127.0.0.2'), 'alice', 'password-1');
    const now = store.get('alice')?.passwordHash ?? '';
    assert.equal(hashCost(now), TEST_SCRYPT_LOG_N + 1);
    assert.ok(await hasher.verify(now, 'password-1'));
  });
});
