/**
 * login and register (PROTOCOL.md section 4). The rules (pre-checks, back-off, password work)
 * live in users/accounts.ts; these move the session through AUTHENTICATING and end in
 * goOnline on success.
 */
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { ClientMessage, Msg } from '../../net/messages.ts';
import { SessionState, type ClientSession } from '../session.ts';
import type { UserRecord } from '../users/store.ts';
import type { HandlerHost } from './host.ts';

type AuthMessage = Msg<ClientMessage, 'login'> | Msg<ClientMessage, 'register'>;

/** Common entry checks; returns false (having answered) if the attempt must stop here. */
function admit(host: HandlerHost, session: ClientSession, message: AuthMessage): boolean {
  const refused = host.accounts.precheck(message);
  if (refused?.code === ErrorCode.VERSION) {
    session.closeWith(ErrorCode.VERSION, refused.message, message.id);
    return false;
  }
  if (refused) {
    session.sendError(refused, message.id);
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

/** Run the password work with the session AUTHENTICATING, back to AWAIT_AUTH unless it closed. */
async function authenticating<T>(session: ClientSession, work: () => Promise<T>): Promise<T> {
  session.state = SessionState.AUTHENTICATING;
  try {
    return await work();
  } finally {
    if (session.state === SessionState.AUTHENTICATING) session.state = SessionState.AWAIT_AUTH;
  }
}

export async function handleLogin(
  host: HandlerHost,
  session: ClientSession,
  message: Msg<ClientMessage, 'login'>,
): Promise<void> {
  if (!admit(host, session, message)) return;
  const check = host.accounts.admitLogin(session, message);
  let record: UserRecord | undefined;
  try {
    record = await authenticating(session, check);
  } catch (err) {
    // A client that hung up needs no answer (its failure was counted all the same).
    if (session.isClosed) return;
    throw err;
  }
  if (!record || session.isClosed) return;
  host.goOnline(session, record.username, message.peerPort, message.id, false);
  // After the welcome: the client need not wait for a re-hash at a higher cost (section 4.6).
  await host.accounts.rehashIfOutdated(session, record.username, message.pass);
}

export async function handleRegister(
  host: HandlerHost,
  session: ClientSession,
  message: Msg<ClientMessage, 'register'>,
): Promise<void> {
  if (!admit(host, session, message)) return;
  const record = await authenticating(session, host.accounts.admitRegistration(session, message));
  // The account is durable now; if the client left meanwhile it can simply log in later.
  if (session.isClosed) return;
  host.goOnline(session, record.username, message.peerPort, message.id, true);
}
