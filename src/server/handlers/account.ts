/**
 * Account changes (PROTOCOL.md section 4.6): passwd and delete_account, and re-making a hash
 * made at a lower scrypt cost at the next successful login.
 *
 * Both requests prove the current password again, through the same per-username and per-IP
 * back-off as login (section 4.4): a stolen session must not be a free password oracle.
 * Every other session of the user is closed afterwards with a fatal error, so whoever held
 * one must log in again with what the owner now knows.
 */
import { ErrorCode, ProtocolError, type ErrorCode as Code } from '../../net/errors.ts';
import type { ClientMessage, Msg } from '../../net/messages.ts';
import { sanitizeLine } from '../../net/sanitize.ts';
import { WindowLimiter } from '../rate-limit.ts';
import type { ServerCore } from '../server.ts';
import { SessionState, type ClientSession } from '../session.ts';
import { hashCost } from '../users/passwords.ts';
import { assertNewPassword, assertWellFormedPassword } from '../users/password-rules.ts';
import { userKey, type UserRecord } from '../users/store.ts';
import { rateLimitError } from './auth.ts';

/**
 * Account changes (passwd, delete_account) a user may ask for in an hour, right or wrong.
 * Each costs two scrypt hashes and a rewrite of users.csv: without a cap, one logged-in
 * user could keep the disk and the hashing threads busy for everyone.
 */
export const ACCOUNT_CHANGES_PER_HOUR = 10;
const HOUR_MS = 3_600_000;

/** Sessions with an account change in flight: one at a time, so two cannot interleave. */
const changing = new WeakSet<ClientSession>();
const limiters = new WeakMap<ServerCore, WindowLimiter>();

function takeChange(server: ServerCore, user: string): void {
  let limiter = limiters.get(server);
  if (!limiter) limiters.set(server, (limiter = new WindowLimiter(ACCOUNT_CHANGES_PER_HOUR, HOUR_MS, server.now)));
  const wait = limiter.take(`user:${userKey(user)}`);
  if (wait > 0) {
    throw new ProtocolError(ErrorCode.RATE_LIMITED, `at most ${ACCOUNT_CHANGES_PER_HOUR} account changes an hour; try again in ${Math.ceil(wait / 60_000)} min`, {
      retryAfterMs: wait,
    });
  }
}

export async function handlePasswd(server: ServerCore, session: ClientSession, message: Msg<ClientMessage, 'passwd'>): Promise<void> {
  // The new password is checked first: a weak one costs no hash and no back-off.
  assertNewPassword(message.new);
  await exclusively(session, async () => {
    const record = await verifyOwnPassword(server, session, message.old);
    const passwordHash = await server.hasher.hash(message.new);
    if (!(await server.store.setPasswordHash(record.username, passwordHash, record.passwordHash))) throw changedMeanwhile();
    const closed = closeOtherSessions(server, session, ErrorCode.PASSWORD_CHANGED, 'the password of this account was changed; log in again with the new one');
    server.emit('account', { user: record.username, ip: session.ip, change: 'password', closed });
    session.send({ t: 'ok', re: message.id });
  });
}

export async function handleDeleteAccount(server: ServerCore, session: ClientSession, message: Msg<ClientMessage, 'delete_account'>): Promise<void> {
  await exclusively(session, async () => {
    const record = await verifyOwnPassword(server, session, message.password);
    if (!(await server.store.remove(record.username))) throw changedMeanwhile();
    // Durable now: the name is free. What the server still owes this user goes too.
    await server.broadcasts.forgetUser(record.username);
    const closed = closeOtherSessions(server, session, ErrorCode.ACCOUNT_DELETED, 'this account was deleted from another connection');
    server.emit('account', { user: record.username, ip: session.ip, change: 'deleted', closed });
    session.send({ t: 'ok', re: message.id });
    session.closeWith(ErrorCode.ACCOUNT_DELETED, 'your account was deleted');
  });
}

/**
 * After a successful login: if the stored hash was made at a lower cost than the server's
 * `--scrypt-cost`, hash the password again at that cost and store it durably. A failure
 * leaves the old hash (it still works) and is reported, never sent to the client, which has
 * its `welcome` already.
 */
export async function rehashIfOutdated(server: ServerCore, session: ClientSession, user: string, pass: string): Promise<void> {
  const record = server.store.get(user);
  if (!record || hashCost(record.passwordHash) >= server.hasher.logN) return;
  const old = record.passwordHash;
  try {
    const passwordHash = await server.hasher.hash(pass);
    // A passwd (or another login's re-hash) that landed meanwhile wins: compare-and-set.
    if (await server.store.setPasswordHash(user, passwordHash, old)) {
      server.emit('account', { user: record.username, ip: session.ip, change: 'rehashed', closed: 0 });
    }
  } catch (err) {
    server.emit('server_error', { where: 'rehash at login', message: err instanceof Error ? err.message : String(err) });
  }
}

/**
 * After a login's password check: still right if the hash is the one checked, or, if it was
 * replaced meanwhile (a re-hash by another login, or a passwd), if the password matches the
 * new one. A deleted account, or a password changed to another, fails.
 */
export async function passwordStillValid(server: ServerCore, user: string, checkedHash: string, pass: string): Promise<boolean> {
  const current = server.store.get(user);
  if (!current) return false;
  return current.passwordHash === checkedHash || (await server.hasher.verify(current.passwordHash, pass));
}

/** True if `user` still exists with the hash that was checked (no change or deletion since). */
export function hashStillCurrent(server: ServerCore, user: string, checkedHash: string): boolean {
  return server.store.get(user)?.passwordHash === checkedHash;
}

async function exclusively(session: ClientSession, fn: () => Promise<void>): Promise<void> {
  if (changing.has(session)) throw new ProtocolError(ErrorCode.BAD_MESSAGE, 'an account change is already in progress on this connection');
  changing.add(session);
  try {
    await fn();
  } finally {
    changing.delete(session);
  }
}

/** The session's own record, if `pass` is its password; failures count as failed logins (section 4.4). */
async function verifyOwnPassword(server: ServerCore, session: ClientSession, pass: string): Promise<UserRecord> {
  const user = session.user as string;
  takeChange(server, user);
  const nameKey = `user:${userKey(user)}`;
  const ipKey = `ip:${session.ip}`;
  const userWait = server.userFailures.admit(nameKey);
  const ipWait = userWait > 0 ? 0 : server.ipFailures.admit(ipKey);
  if (userWait > 0 || ipWait > 0) {
    if (userWait === 0) server.userFailures.finish(nameKey);
    server.emit('login_failed', { user: sanitizeLine(user), ip: session.ip, code: ErrorCode.RATE_LIMITED });
    throw rateLimitError(Math.max(userWait, ipWait));
  }
  const record = server.store.get(user);
  let ok = false;
  try {
    assertWellFormedPassword(pass);
    ok = record ? await server.hasher.verify(record.passwordHash, pass) : await server.hasher.verifyNobody(pass);
  } catch (err) {
    if (!(err instanceof ProtocolError) || err.code !== ErrorCode.BAD_MESSAGE) throw err;
  } finally {
    server.userFailures.finish(nameKey);
    server.ipFailures.finish(ipKey);
  }
  if (!ok || !record || !hashStillCurrent(server, user, record.passwordHash)) {
    server.userFailures.recordFailure(nameKey);
    server.ipFailures.recordFailure(ipKey);
    server.emit('login_failed', { user: sanitizeLine(user), ip: session.ip, code: ErrorCode.AUTH_FAILED });
    throw new ProtocolError(ErrorCode.AUTH_FAILED, 'wrong password');
  }
  server.userFailures.recordSuccess(nameKey);
  return record;
}

/** Close every other connection logged in (or logging in) as this session's user. */
function closeOtherSessions(server: ServerCore, session: ClientSession, code: Code, why: string): number {
  const key = userKey(session.user as string);
  let closed = 0;
  for (const other of server.allSessions()) {
    if (other === session || other.state === SessionState.CLOSED || other.user === null || userKey(other.user) !== key) continue;
    other.closeWith(code, why);
    closed += 1;
  }
  return closed;
}

function changedMeanwhile(): ProtocolError {
  // Another connection changed the password or deleted the account while this was checked.
  return new ProtocolError(ErrorCode.AUTH_FAILED, 'the account was changed from another connection meanwhile; log in again');
}
