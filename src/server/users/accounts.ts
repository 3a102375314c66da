/**
 * Accounts and authentication (PROTOCOL.md section 4): the checks a login or registration
 * passes before any password work, the failed-login back-off per username and per IP
 * (section 4.4), the registration allowance per IP, and the password checks themselves.
 * Sessions stay outside: handlers/auth.ts moves the session between states and calls this.
 * Unknown user and wrong password give the same error after the same work.
 */
import {
  FREE_FAILURES_PER_IP,
  FREE_FAILURES_PER_USER,
  MIN_PASSWORD_CHARS,
  PROTOCOL_VERSION,
  RATE_WINDOW_MS,
  USERNAME_PATTERN,
} from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { sanitizeLine } from '../../net/sanitize.ts';
import type { Emit } from '../events.ts';
import { FailureBackoff, WindowLimiter, type AttemptThrottle, type Clock, type RateLimiter } from '../rate-limit.ts';
import type { PasswordHasher } from './passwords.ts';
import { userKey, type UserRecord, type UserStore } from './store.ts';

export const REGISTRATIONS_PER_IP_PER_MINUTE = 30;

/** With the u flag, [\uD800-\uDFFF] matches only surrogates that are not part of a pair. */
const NOT_WELL_FORMED = /[\uD800-\uDFFF\uFFFD]/u;

export interface AccountsHost {
  store: UserStore;
  hasher: PasswordHasher;
  now: Clock;
  emit: Emit;
}

export interface AccountsOptions {
  registrationsPerMinutePerIp?: number;
  /** Shared limiters (a cluster's) replace the in-process defaults. */
  userFailures?: AttemptThrottle;
  ipFailures?: AttemptThrottle;
  registrations?: RateLimiter;
}

/** The connection an attempt comes from, as far as accounts care. */
export interface AuthClient {
  readonly ip: string;
  /** The client hung up meanwhile: no answer is needed, but the outcome still counts. */
  readonly isClosed: boolean;
}

export interface Credentials {
  proto: number;
  user: string;
  pass: string;
}

export class Accounts {
  readonly userFailures: AttemptThrottle;
  readonly ipFailures: AttemptThrottle;
  readonly registrations: RateLimiter;

  constructor(private readonly host: AccountsHost, options: AccountsOptions = {}) {
    this.userFailures = options.userFailures ?? new FailureBackoff(FREE_FAILURES_PER_USER, host.now);
    this.ipFailures = options.ipFailures ?? new FailureBackoff(FREE_FAILURES_PER_IP, host.now, 'after-failure');
    this.registrations =
      options.registrations ??
      new WindowLimiter(options.registrationsPerMinutePerIp ?? REGISTRATIONS_PER_IP_PER_MINUTE, RATE_WINDOW_MS, host.now);
  }

  get store(): UserStore {
    return this.host.store;
  }

  /**
   * Checks common to login and register, before anything else; the error to answer with, if
   * any. E_VERSION is fatal (the caller closes the connection).
   */
  precheck(attempt: Credentials): ProtocolError | undefined {
    if (attempt.proto !== PROTOCOL_VERSION) {
      return new ProtocolError(ErrorCode.VERSION, `protocol version ${attempt.proto} is not supported; this server speaks ${PROTOCOL_VERSION}`);
    }
    if (NOT_WELL_FORMED.test(attempt.pass)) {
      // Lone surrogates and U+FFFD (what invalid UTF-8 decodes to) would all hash as U+FFFD:
      // different passwords sent would match one another.
      return new ProtocolError(ErrorCode.BAD_MESSAGE, 'a password must be valid Unicode text (no lone surrogates, no U+FFFD)');
    }
    return undefined;
  }

  /**
   * Admit a login (section 4.4): throws E_RATE_LIMITED at once if the back-off says wait, else
   * returns the password check to run (always run it: the attempt counts as in flight until
   * it finishes). Split in two so the caller marks the session AUTHENTICATING only once the
   * attempt is admitted. The check resolves the record, or undefined if the client left
   * before a successful check finished; it rejects with E_AUTH_FAILED.
   */
  admitLogin(client: AuthClient, attempt: Credentials): () => Promise<UserRecord | undefined> {
    const { emit } = this.host;
    const nameKey = `user:${userKey(attempt.user)}`;
    const ipKey = `ip:${client.ip}`;
    const userWait = this.userFailures.admit(nameKey);
    const ipWait = userWait > 0 ? 0 : this.ipFailures.admit(ipKey);
    if (userWait > 0 || ipWait > 0) {
      if (userWait === 0) this.userFailures.finish(nameKey);
      emit('login_failed', { user: sanitizeLine(attempt.user), ip: client.ip, code: ErrorCode.RATE_LIMITED });
      throw rateLimitError(Math.max(userWait, ipWait));
    }
    return () => this.checkPassword(client, attempt, nameKey, ipKey);
  }

  private async checkPassword(client: AuthClient, attempt: Credentials, nameKey: string, ipKey: string): Promise<UserRecord | undefined> {
    const { store, hasher, emit } = this.host;
    let ok: boolean;
    const record = USERNAME_PATTERN.test(attempt.user) ? store.get(attempt.user) : undefined;
    try {
      ok = record ? await hasher.verify(record.passwordHash, attempt.pass) : await hasher.verifyNobody(attempt.pass);
    } finally {
      this.userFailures.finish(nameKey);
      this.ipFailures.finish(ipKey);
    }
    // Checked, the outcome counts even if the client has gone: hanging up early must not be a free guess.
    if (!ok || !record) {
      this.userFailures.recordFailure(nameKey);
      this.ipFailures.recordFailure(ipKey);
      emit('login_failed', { user: sanitizeLine(attempt.user), ip: client.ip, code: ErrorCode.AUTH_FAILED });
      throw new ProtocolError(ErrorCode.AUTH_FAILED, 'wrong username or password');
    }
    if (client.isClosed) return undefined;
    this.userFailures.recordSuccess(nameKey);
    return record;
  }

  /**
   * Admit a registration (section 4.1): throws at once if the name, the password or the
   * allowance refuses it, else returns the work that creates the account (it resolves once
   * the account is durable).
   */
  admitRegistration(client: AuthClient, attempt: Credentials): () => Promise<UserRecord> {
    const { store } = this.host;
    if (!USERNAME_PATTERN.test(attempt.user)) {
      throw new ProtocolError(
        ErrorCode.BAD_USERNAME,
        'a username is 1-32 characters of letters, digits, "_", "." and "-", and does not start with "." or "-"',
      );
    }
    if ([...attempt.pass].length < MIN_PASSWORD_CHARS) {
      throw new ProtocolError(ErrorCode.WEAK_PASSWORD, `a password needs at least ${MIN_PASSWORD_CHARS} characters`);
    }
    // The limit comes first: answers of "taken" must not be a free, unlimited way to list accounts.
    const wait = this.registrations.take(`ip:${client.ip}`);
    if (wait > 0) throw new ProtocolError(ErrorCode.RATE_LIMITED, 'too many registrations from your address; try again later', { retryAfterMs: wait });
    if (store.has(attempt.user)) throw new ProtocolError(ErrorCode.USERNAME_TAKEN, `the name ${attempt.user} is taken`);
    return () => this.createAccount(client, attempt);
  }

  private async createAccount(client: AuthClient, attempt: Credentials): Promise<UserRecord> {
    const { store, hasher, now, emit } = this.host;
    const passwordHash = await hasher.hash(attempt.pass);
    // create() re-checks the name: of two racing registrations exactly one gets here first.
    const record = await store.create({ username: attempt.user, passwordHash, createdAt: now() });
    emit('register', { user: record.username, ip: client.ip });
    return record;
  }
}

function rateLimitError(retryAfterMs: number): ProtocolError {
  const seconds = Math.ceil(retryAfterMs / 1000);
  return new ProtocolError(ErrorCode.RATE_LIMITED, `too many failed attempts; try again in ${seconds} s`, { retryAfterMs });
}
