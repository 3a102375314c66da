/**
 * Stable error codes (docs/PROTOCOL.md section 8). A code never changes meaning; a new
 * failure gets a new code. The `message` text is for people and may change.
 */
export const ErrorCode = {
  // framing and validation
  FRAME_TOO_LARGE: 'E_FRAME_TOO_LARGE',
  BAD_FRAME: 'E_BAD_FRAME',
  BAD_MESSAGE: 'E_BAD_MESSAGE',
  UNKNOWN_TYPE: 'E_UNKNOWN_TYPE',
  VERSION: 'E_VERSION',
  // session state
  NOT_AUTHENTICATED: 'E_NOT_AUTHENTICATED',
  ALREADY_AUTHENTICATED: 'E_ALREADY_AUTHENTICATED',
  LOGIN_TIMEOUT: 'E_LOGIN_TIMEOUT',
  IDLE_TIMEOUT: 'E_IDLE_TIMEOUT',
  SESSION_REPLACED: 'E_SESSION_REPLACED',
  SERVER_SHUTDOWN: 'E_SERVER_SHUTDOWN',
  SERVER_FULL: 'E_SERVER_FULL',
  SERVER_BUSY: 'E_SERVER_BUSY',
  SLOW_CONSUMER: 'E_SLOW_CONSUMER',
  /** Cluster mode: the shared store (Redis) is unreachable; nothing was changed (docs/CLUSTER.md). */
  UNAVAILABLE: 'E_UNAVAILABLE',
  // accounts
  AUTH_FAILED: 'E_AUTH_FAILED',
  USERNAME_TAKEN: 'E_USERNAME_TAKEN',
  BAD_USERNAME: 'E_BAD_USERNAME',
  WEAK_PASSWORD: 'E_WEAK_PASSWORD',
  RATE_LIMITED: 'E_RATE_LIMITED',
  STORAGE: 'E_STORAGE',
  PASSWORD_CHANGED: 'E_PASSWORD_CHANGED',
  ACCOUNT_DELETED: 'E_ACCOUNT_DELETED',
  // peers
  PEER_OFFLINE: 'E_PEER_OFFLINE',
  PEER_SELF: 'E_PEER_SELF',
  PEER_ALREADY_REQUESTED: 'E_PEER_ALREADY_REQUESTED',
  PEER_NO_LISTENER: 'E_PEER_NO_LISTENER',
  PEER_UNKNOWN_REQUEST: 'E_PEER_UNKNOWN_REQUEST',
  PEER_BUSY: 'E_PEER_BUSY',
  MESSAGE_TOO_LARGE: 'E_MESSAGE_TOO_LARGE',
  // away (section 4.7)
  AWAY_TOO_LARGE: 'E_AWAY_TOO_LARGE',
  // file transfer (section 6.7)
  FILE_DECLINED: 'E_FILE_DECLINED',
  FILE_CANCELLED: 'E_FILE_CANCELLED',
  FILE_TOO_LARGE: 'E_FILE_TOO_LARGE',
  FILE_SIZE_MISMATCH: 'E_FILE_SIZE_MISMATCH',
  FILE_HASH_MISMATCH: 'E_FILE_HASH_MISMATCH',
  FILE_DISK_FULL: 'E_FILE_DISK_FULL',
  FILE_IO: 'E_FILE_IO',
  FILE_UNKNOWN: 'E_FILE_UNKNOWN',
  FILE_BUSY: 'E_FILE_BUSY',
  // broadcasts
  BROADCAST_TOO_LARGE: 'E_BROADCAST_TOO_LARGE',
  QUEUE_FULL: 'E_QUEUE_FULL',
  // relay (section 6.6)
  RELAY_TOKEN_UNKNOWN: 'E_RELAY_TOKEN_UNKNOWN',
  RELAY_TOKEN_FOREIGN: 'E_RELAY_TOKEN_FOREIGN',
  RELAY_WRONG_USER: 'E_RELAY_WRONG_USER',
  RELAY_TOKEN_SPENT: 'E_RELAY_TOKEN_SPENT',
  RELAY_TOKEN_EXPIRED: 'E_RELAY_TOKEN_EXPIRED',
  RELAY_FULL: 'E_RELAY_FULL',
  RELAY_PEER_ABSENT: 'E_RELAY_PEER_ABSENT',
  // client-side only (never on the wire)
  FINGERPRINT_CHANGED: 'E_FINGERPRINT_CHANGED',
  FINGERPRINT_REJECTED: 'E_FINGERPRINT_REJECTED',
  UNREACHABLE: 'E_UNREACHABLE',
  DISCONNECTED: 'E_DISCONNECTED',
  TIMEOUT: 'E_TIMEOUT',
  PEER_HANDSHAKE: 'E_PEER_HANDSHAKE',
  /** Every rung of the connection ladder failed (section 6.6). */
  PEER_NO_PATH: 'E_PEER_NO_PATH',
  INTERNAL: 'E_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));
export function isErrorCode(value: string): value is ErrorCode {
  return KNOWN_CODES.has(value);
}

/** A failure with a stable code; `retryAfterMs` is set for rate limits. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProtocolError';
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
  }
}
