/** A server's `error` message as a ProtocolError (section 8), for every side that reads one. */
import { ErrorCode, isErrorCode, ProtocolError } from './errors.ts';
import type { Msg, ServerMessage } from './messages.ts';
import { sanitizeLine } from './sanitize.ts';

export function toError(message: Msg<ServerMessage, 'error'>): ProtocolError {
  const code = isErrorCode(message.code) ? message.code : ErrorCode.INTERNAL;
  // Shown to the user: sanitised on receipt like all text from the network (net/sanitize.ts).
  return new ProtocolError(code, sanitizeLine(message.message), { retryAfterMs: message.retryAfterMs });
}
