/**
 * Error codes (docs/PROTOCOL.md section 8) in plain words for the forms and the chat
 * notices. The server's own `message` is shown only where it adds facts (the fingerprint
 * warning lists both fingerprints and the file to edit).
 */
import { ErrorCode, ProtocolError } from '../../net/errors.ts';

function seconds(ms: number | undefined): string {
  if (!ms) return 'a moment';
  const s = Math.ceil(ms / 1000);
  return s >= 120 ? `${Math.ceil(s / 60)} minutes` : `${s} s`;
}

const PLAIN: Partial<Record<ErrorCode, (e: ProtocolError) => string>> = {
  [ErrorCode.AUTH_FAILED]: () => 'Wrong username or password.',
  [ErrorCode.USERNAME_TAKEN]: () => 'That username is taken. Pick another one.',
  [ErrorCode.BAD_USERNAME]: () =>
    'Usernames are 1-32 letters, digits, "_", "." or "-", and start with a letter, digit or "_".',
  [ErrorCode.WEAK_PASSWORD]: () => 'The password is too short: use at least 8 characters.',
  [ErrorCode.RATE_LIMITED]: (e) => `Too many attempts. Try again in ${seconds(e.retryAfterMs)}.`,
  [ErrorCode.SERVER_BUSY]: (e) => `The server is busy. Try again in ${seconds(e.retryAfterMs)}.`,
  [ErrorCode.SERVER_FULL]: () => 'The server is full. Try again later.',
  [ErrorCode.SERVER_SHUTDOWN]: () => 'The server is shutting down.',
  [ErrorCode.SESSION_REPLACED]: () => 'You logged in somewhere else, so this session was closed.',
  [ErrorCode.PASSWORD_CHANGED]: () => 'Your password was changed from another session. Log in again with the new one.',
  [ErrorCode.ACCOUNT_DELETED]: () => 'Your account was deleted.',
  [ErrorCode.UNREACHABLE]: (e) =>
    `Cannot reach the server (${e.message.replace(/^cannot reach /, '')}). Check the address and that the server is running.`,
  [ErrorCode.DISCONNECTED]: () => 'The connection to the server was lost.',
  [ErrorCode.TIMEOUT]: () => 'The server did not answer in time.',
  [ErrorCode.IDLE_TIMEOUT]: () => 'The server closed the connection after a silence.',
  [ErrorCode.LOGIN_TIMEOUT]: () => 'The server closed the connection: login took too long.',
  [ErrorCode.VERSION]: () => 'This client and the server speak different protocol versions.',
  // A SHA-256 fingerprint is 95 characters: split it between bytes, never inside one.
  [ErrorCode.FINGERPRINT_CHANGED]: (e) =>
    e.message.replace(/((?:[0-9A-F]{2}:){15}[0-9A-F]{2}):((?:[0-9A-F]{2}:){15}[0-9A-F]{2})/gi, '$1\n      $2'),
  [ErrorCode.FINGERPRINT_REJECTED]: () => "You did not trust the server's fingerprint, so nothing was sent to it.",
  [ErrorCode.STORAGE]: () => 'The server could not save that. Nothing was changed; try again.',
  [ErrorCode.PEER_OFFLINE]: () => 'That user is not online.',
  [ErrorCode.PEER_SELF]: () => 'That is you.',
  [ErrorCode.PEER_ALREADY_REQUESTED]: () => 'A request between you two is already waiting for an answer.',
  [ErrorCode.PEER_NO_LISTENER]: () => 'That user cannot accept direct chats.',
  [ErrorCode.PEER_UNKNOWN_REQUEST]: () => 'That request is no longer pending.',
  [ErrorCode.PEER_BUSY]: () => 'That user has too many requests waiting. Try again later.',
  [ErrorCode.PEER_HANDSHAKE]: () => 'The direct connection to the peer could not be secured.',
  // The ladder's own words already say what happened on each path (PROTOCOL.md section 6.6).
  [ErrorCode.PEER_NO_PATH]: (e) => e.message,
  [ErrorCode.MESSAGE_TOO_LARGE]: () => 'That message is too long for a chat message.',
  [ErrorCode.BROADCAST_TOO_LARGE]: () => 'That broadcast is too long (at most 4096 bytes).',
  [ErrorCode.QUEUE_FULL]: () => "The server's broadcast queue is full. Try again later.",
};

/** One sentence (or, for a changed fingerprint, a short paragraph) for people. */
export function describeError(err: unknown): string {
  if (err instanceof ProtocolError) {
    const plain = PLAIN[err.code];
    return plain ? plain(err) : `${err.message} (${err.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A few words for the status line when the server let us go for good (no reconnect). */
const LOST_NOTE: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.SESSION_REPLACED]: 'logged in elsewhere',
  [ErrorCode.PASSWORD_CHANGED]: 'password changed elsewhere',
  [ErrorCode.ACCOUNT_DELETED]: 'account deleted',
  [ErrorCode.VERSION]: 'protocol version differs',
};

export function lostSessionNote(err: ProtocolError): string {
  return LOST_NOTE[err.code] ?? 'disconnected from the server';
}
