/**
 * login and register (PROTOCOL.md section 4). Both end in ServerCore.goOnline on success.
 * Unknown user and wrong password give the same error after the same work; failures feed
 * the per-username and per-IP back-off before any password is checked.
 */
import { PROTOCOL_VERSION, USERNAME_PATTERN } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { ClientMessage, Msg } from '../../net/messages.ts';
import { sanitizeLine } from '../../net/sanitize.ts';
import type { ServerCore } from '../server.ts';
import { SessionState, type ClientSession } from '../session.ts';
import { assertNewPassword, assertWellFormedPassword } from '../users/password-rules.ts';
import { userKey } from '../users/store.ts';
import { passwordStillValid, rehashIfOutdated } from './account.ts';

type AuthMessage = Msg<ClientMessage, 'login'> | Msg<ClientMessage, 'register'>;

/** Common entry checks; returns false (having answered) if the attempt must stop here. */
function admit(server: ServerCore, session: ClientSession, message: AuthMessage): boolean {
  if (message.proto !== PROTOCOL_VERSION) {
    session.closeWith(ErrorCode.VERSION, `protocol version ${message.proto} is not supported; this server speaks ${PROTOCOL_VERSION}`);
    return false;
  }
  try {
    assertWellFormedPassword(message.pass);
  } catch (err) {
    session.sendError(err as ProtocolError, message.id);
    return false;
  }
  if (session.state === SessionState.ONLINE) {
    session.sendError(new ProtocolError(ErrorCode.ALREADY_AUTHENTICATED, 'already logged in'), message.id);
    return false;
  }
  if (session.state === SessionState.AUTHENTICATING) {
    session.sendError(new ProtocolError(ErrorCode.BAD_MESSAGE, 'a login is already in progress'), message.id);
    return false;
  }
  return true;
}

export function rateLimitError(retryAfterMs: number): ProtocolError {
  const seconds = Math.ceil(retryAfterMs / 1000);
  return new ProtocolError(ErrorCode.RATE_LIMITED, `too many failed attempts; try again in ${seconds} s`, { retryAfterMs });
}

export async function handleLogin(server: ServerCore, session: ClientSession, message: Msg<ClientMessage, 'login'>): Promise<void> {
  if (!admit(server, session, message)) return;
  const nameKey = `user:${userKey(message.user)}`;
  const ipKey = `ip:${session.ip}`;
  const userWait = server.userFailures.admit(nameKey);
  const ipWait = userWait > 0 ? 0 : server.ipFailures.admit(ipKey);
  if (userWait > 0 || ipWait > 0) {
    if (userWait === 0) server.userFailures.finish(nameKey);
    server.emit('login_failed', { user: sanitizeLine(message.user), ip: session.ip, code: ErrorCode.RATE_LIMITED });
    throw rateLimitError(Math.max(userWait, ipWait));
  }
  session.state = SessionState.AUTHENTICATING;
  let ok: boolean;
  const record = USERNAME_PATTERN.test(message.user) ? server.store.get(message.user) : undefined;
  const checkedHash = record?.passwordHash;
  try {
    ok = record ? await server.hasher.verify(record.passwordHash, message.pass) : await server.hasher.verifyNobody(message.pass);
    // A password change or deletion (section 4.6) that landed during the check wins over it.
    if (ok && record) ok = await passwordStillValid(server, record.username, checkedHash as string, message.pass);
  } finally {
    server.userFailures.finish(nameKey);
    server.ipFailures.finish(ipKey);
    if (session.state === SessionState.AUTHENTICATING) session.state = SessionState.AWAIT_AUTH;
  }
  // Checked, the outcome counts even if the client has gone: hanging up early must not be a free guess.
  if (!ok || !record) {
    server.userFailures.recordFailure(nameKey);
    server.ipFailures.recordFailure(ipKey);
    server.emit('login_failed', { user: sanitizeLine(message.user), ip: session.ip, code: ErrorCode.AUTH_FAILED });
    if (session.isClosed) return;
    throw new ProtocolError(ErrorCode.AUTH_FAILED, 'wrong username or password');
  }
  if (session.isClosed) return;
  server.userFailures.recordSuccess(nameKey);
  server.goOnline(session, record.username, message.peerPort, message.id, false);
  await rehashIfOutdated(server, session, record.username, message.pass);
}

export async function handleRegister(server: ServerCore, session: ClientSession, message: Msg<ClientMessage, 'register'>): Promise<void> {
  if (!admit(server, session, message)) return;
  if (!USERNAME_PATTERN.test(message.user)) {
    throw new ProtocolError(
      ErrorCode.BAD_USERNAME,
      'a username is 1-32 characters of letters, digits, "_", "." and "-", and does not start with "." or "-"',
    );
  }
  assertNewPassword(message.pass);
  // The limit comes first: answers of "taken" must not be a free, unlimited way to list accounts.
  const wait = server.registrations.take(`ip:${session.ip}`);
  if (wait > 0) throw new ProtocolError(ErrorCode.RATE_LIMITED, 'too many registrations from your address; try again later', { retryAfterMs: wait });
  if (server.store.has(message.user)) throw new ProtocolError(ErrorCode.USERNAME_TAKEN, `the name ${message.user} is taken`);
  session.state = SessionState.AUTHENTICATING;
  let record;
  try {
    const passwordHash = await server.hasher.hash(message.pass);
    // create() re-checks the name: of two racing registrations exactly one gets here first.
    record = await server.store.create({ username: message.user, passwordHash, createdAt: server.now() });
  } finally {
    if (session.state === SessionState.AUTHENTICATING) session.state = SessionState.AWAIT_AUTH;
  }
  server.emit('register', { user: record.username, ip: session.ip });
  // The account is durable now; if the client left meanwhile it can simply log in later.
  if (session.isClosed) return;
  server.goOnline(session, record.username, message.peerPort, message.id, true);
}
