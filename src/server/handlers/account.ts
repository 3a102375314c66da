/**
 * Account changes (PROTOCOL.md section 4.6): passwd and delete_account. The rules (the
 * password proven again through the login back-off, the hourly allowance, durable writes)
 * live in users/accounts.ts; these answer, and close every other session of the user with a
 * fatal error, so whoever held one must log in again with what the owner now knows.
 */
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { ClientMessage, Msg } from '../../net/messages.ts';
import type { ClientSession, OnlineSession } from '../session.ts';
import type { HandlerHost } from './host.ts';

/** Sessions with an account change in flight: one at a time, so two cannot interleave. */
const changing = new WeakSet<ClientSession>();

export async function handlePasswd(
  host: HandlerHost,
  session: OnlineSession,
  message: Msg<ClientMessage, 'passwd'>,
): Promise<void> {
  await exclusively(session, async () => {
    const record = await host.accounts.changePassword(session, session.user, message.old, message.new);
    const why = 'the password of this account was changed; log in again with the new one';
    const closed = host.closeOtherSessions(session, ErrorCode.PASSWORD_CHANGED, why);
    host.emit('account', { user: record.username, ip: session.ip, change: 'password', closed });
    session.send({ t: 'ok', re: message.id });
  });
}

export async function handleDeleteAccount(
  host: HandlerHost,
  session: OnlineSession,
  message: Msg<ClientMessage, 'delete_account'>,
): Promise<void> {
  await exclusively(session, async () => {
    const record = await host.accounts.deleteAccount(session, session.user, message.password);
    // Durable now: the name is free. What the server still owes this user goes too.
    await host.broadcasts.forgetUser(record.username);
    const closed = host.closeOtherSessions(
      session,
      ErrorCode.ACCOUNT_DELETED,
      'this account was deleted from another connection',
    );
    host.emit('account', { user: record.username, ip: session.ip, change: 'deleted', closed });
    session.send({ t: 'ok', re: message.id });
    session.closeWith(ErrorCode.ACCOUNT_DELETED, 'your account was deleted');
  });
}

async function exclusively(session: ClientSession, fn: () => Promise<void>): Promise<void> {
  if (changing.has(session))
    throw new ProtocolError(ErrorCode.BAD_MESSAGE, 'an account change is already in progress on this connection');
  changing.add(session);
  try {
    await fn();
  } finally {
    changing.delete(session);
  }
}
