/**
 * Size rules for text, in UTF-8 bytes (what costs memory and bandwidth), each written once:
 * the schema's `maxBytes`, a chat message (PROTOCOL.md 6.5) and a broadcast (7.1). The sender
 * refuses locally with the same error the receiver would give, so the check is the same code
 * on both ends; a front end words the error, it does not check again.
 */
import { MAX_AWAY_REASON_BYTES, MAX_BROADCAST_TEXT_BYTES, MAX_CHAT_TEXT_BYTES } from './constants.ts';
import { ErrorCode, ProtocolError } from './errors.ts';

/**
 * The UTF-8 size of `text` when it is over `limit`, else 0. A UTF-16 string never takes more
 * than 3 UTF-8 bytes per unit, so short text (the common case, per message) needs no count.
 */
export function utf8BytesOver(text: string, limit: number): number {
  if (text.length * 3 <= limit) return 0;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > limit ? bytes : 0;
}

/** Text over its limit; `bytes` and `limitBytes` let a front end say by how much. */
export class TextTooLargeError extends ProtocolError {
  constructor(
    code: typeof ErrorCode.MESSAGE_TOO_LARGE | typeof ErrorCode.BROADCAST_TOO_LARGE | typeof ErrorCode.AWAY_TOO_LARGE,
    message: string,
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super(code, message);
  }
}

/** Section 6.5: E_MESSAGE_TOO_LARGE for a chat message over MAX_CHAT_TEXT_BYTES (the sender throws it, the receiver sends it back). */
export function chatTextTooLarge(text: string): TextTooLargeError | null {
  const bytes = utf8BytesOver(text, MAX_CHAT_TEXT_BYTES);
  if (bytes === 0) return null;
  return new TextTooLargeError(
    ErrorCode.MESSAGE_TOO_LARGE,
    `message of ${bytes} bytes is over the ${MAX_CHAT_TEXT_BYTES}-byte limit`,
    bytes,
    MAX_CHAT_TEXT_BYTES,
  );
}

/** Section 7.1: E_BROADCAST_TOO_LARGE for a broadcast over MAX_BROADCAST_TEXT_BYTES (the sending client and the server). */
export function broadcastTextTooLarge(text: string): TextTooLargeError | null {
  const bytes = utf8BytesOver(text, MAX_BROADCAST_TEXT_BYTES);
  if (bytes === 0) return null;
  return new TextTooLargeError(
    ErrorCode.BROADCAST_TOO_LARGE,
    `a broadcast is at most ${MAX_BROADCAST_TEXT_BYTES} bytes; this one has ${bytes}`,
    bytes,
    MAX_BROADCAST_TEXT_BYTES,
  );
}

/** Section 4.7: E_AWAY_TOO_LARGE for an away reason over MAX_AWAY_REASON_BYTES (the sending client and the server). */
export function awayReasonTooLarge(reason: string): TextTooLargeError | null {
  const bytes = utf8BytesOver(reason, MAX_AWAY_REASON_BYTES);
  if (bytes === 0) return null;
  return new TextTooLargeError(
    ErrorCode.AWAY_TOO_LARGE,
    `an away reason is at most ${MAX_AWAY_REASON_BYTES} bytes; this one has ${bytes}`,
    bytes,
    MAX_AWAY_REASON_BYTES,
  );
}
