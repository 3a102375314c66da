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
  PROTOCOL_VERSION,
  RATE_WINDOW_MS,
  USERNAME_PATTERN,
} from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { sanitizeLine } from '../../net/sanitize.ts';
import type { Emit } from '../events.ts';
import { FailureBackoff, WindowLimiter, type AttemptThrottle, type Clock, type RateLimiter } from '../rate-limit.ts';
import { assertNewPassword, assertWellFormedPassword } from './password-rules.ts';
import { REGISTRATIONS_PER_IP_PER_MINUTE } from '../defaults.ts';
import { hashCost, type PasswordHasher } from './passwords.ts';
import { userKey, type UserRecord, type UserStore } from './store.ts';

/**
 * Account changes (passwd, delete_account) a user may ask for in an hour, right or wrong.
 * Each costs two scrypt hashes and a rewrite of users.csv: without a cap, one logged-in
 * user could keep the disk and the hashing threads busy for everyone.
 */
export const ACCOUNT_CHANGES_PER_HOUR = 10;
/** The window ACCOUNT_CHANGES_PER_HOUR counts in. */
export const ACCOUNT_CHANGES_WINDOW_MS = 3_600_000;

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
  accountChanges?: RateLimiter;
  /** Re-make hashes below the server's cost at login (section 4.6); on unless told otherwise. */
  rehashOutdated?: boolean;
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
  readonly accountChanges: RateLimiter;
  private readonly rehashOutdated: boolean;
  private rehashing = 0;

  constructor(
    private readonly host: AccountsHost,
    options: AccountsOptions = {},
  ) {
    this.userFailures = options.userFailures ?? new FailureBackoff(FREE_FAILURES_PER_USER, host.now);
    this.ipFailures = options.ipFailures ?? new FailureBackoff(FREE_FAILURES_PER_IP, host.now, 'after-failure');
    this.registrations =
      options.registrations ??
      new WindowLimiter(
        options.registrationsPerMinutePerIp ?? REGISTRATIONS_PER_IP_PER_MINUTE,
        RATE_WINDOW_MS,
        host.now,
      );
    this.accountChanges =
      options.accountChanges ?? new WindowLimiter(ACCOUNT_CHANGES_PER_HOUR, ACCOUNT_CHANGES_WINDOW_MS, host.now);
    this.rehashOutdated = options.rehashOutdated ?? true;
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
      return new ProtocolError(
        ErrorCode.VERSION,
        `protocol version ${attempt.proto} is not supported; this server speaks ${PROTOCOL_VERSION}`,
      );
    }
    try {
      assertWellFormedPassword(attempt.pass);
    } catch (err) {
      return err as ProtocolError;
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

  private async checkPassword(
    client: AuthClient,
    attempt: Credentials,
    nameKey: string,
    ipKey: string,
  ): Promise<UserRecord | undefined> {
    const { store, hasher, emit } = this.host;
    let ok: boolean;
    let record = USERNAME_PATTERN.test(attempt.user) ? store.get(attempt.user) : undefined;
    try {
      // A cluster's store reads the user again from Redis: registered on another node a moment ago counts.
      if (store.refresh && USERNAME_PATTERN.test(attempt.user)) record = await store.refresh(attempt.user);
      ok = record ? await hasher.verify(record.passwordHash, attempt.pass) : await hasher.verifyNobody(attempt.pass);
      // A password change or deletion (section 4.6) that landed during the check wins over it.
      if (ok && record) ok = await this.passwordStillValid(record.username, record.passwordHash, attempt.pass);
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
    assertNewPassword(attempt.pass);
    // The limit comes first: answers of "taken" must not be a free, unlimited way to list accounts.
    const wait = this.registrations.take(`ip:${client.ip}`);
    if (wait > 0)
      throw new ProtocolError(ErrorCode.RATE_LIMITED, 'too many registrations from your address; try again later', {
        retryAfterMs: wait,
      });
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

  /**
   * passwd (section 4.6): the current password proven again (it counts as a login attempt),
   * the new one stored durably with a compare-and-set. Resolves with the user's record as
   * it was; the caller closes the user's other sessions.
   */
  async changePassword(client: AuthClient, user: string, oldPass: string, newPass: string): Promise<UserRecord> {
    // The new password is checked first: a weak one costs no hash and no back-off.
    assertNewPassword(newPass);
    const record = await this.verifyOwnPassword(client, user, oldPass);
    const passwordHash = await this.host.hasher.hash(newPass);
    if (!(await this.host.store.setPasswordHash(record.username, passwordHash, record.passwordHash)))
      throw changedMeanwhile();
    return record;
  }

  /** delete_account (section 4.6): the password proven again, the row removed durably. */
  async deleteAccount(client: AuthClient, user: string, pass: string): Promise<UserRecord> {
    const record = await this.verifyOwnPassword(client, user, pass);
    if (!(await this.host.store.remove(record.username))) throw changedMeanwhile();
    return record;
  }

  /**
   * After a successful login: if the stored hash was made at a lower cost than the server's
   * `--scrypt-cost`, hash the password again at that cost and store it durably. A failure
   * leaves the old hash (it still works) and is reported, never sent to the client, which has
   * its `welcome` already.
   */
  async rehashIfOutdated(client: AuthClient, user: string, pass: string): Promise<void> {
    const { store, hasher, emit } = this.host;
    const record = store.get(user);
    if (!this.rehashOutdated || !record || hashCost(record.passwordHash) >= hasher.logN) return;
    // A re-hash can wait for a later login; a login cannot. So only one at a time, and only
    // while no password work is queued: after a cost increase a wave of logins (measured:
    // 200 sessions at logN 10 re-hashed at 15 held a storm of 20 logins for 17 s) costs the
    // logins nothing, and the hashes catch up as logins come and go.
    if (this.rehashing > 0 || hasher.queued > 0) return;
    this.rehashing += 1;
    try {
      const passwordHash = await hasher.hash(pass);
      // A passwd (or another login's re-hash) that landed meanwhile wins: compare-and-set.
      if (await store.setPasswordHash(user, passwordHash, record.passwordHash)) {
        emit('account', { user: record.username, ip: client.ip, change: 'rehashed', closed: 0 });
      }
    } catch (err) {
      emit('server_error', { where: 'rehash at login', message: err instanceof Error ? err.message : String(err) });
    } finally {
      this.rehashing -= 1;
    }
  }

  /**
   * After a password check: still right if the hash is the one checked, or, if it was
   * replaced meanwhile (a re-hash by another login, or a passwd), if the password matches the
   * new one. A deleted account, or a password changed to another, fails.
   */
  private async passwordStillValid(user: string, checkedHash: string, pass: string): Promise<boolean> {
    const current = await this.latest(user);
    if (!current) return false;
    return current.passwordHash === checkedHash || (await this.host.hasher.verify(current.passwordHash, pass));
  }

  /** The user's record; from shared storage when the store mirrors one (a cluster: another node's change counts). */
  private async latest(user: string): Promise<UserRecord | undefined> {
    const { store } = this.host;
    return store.refresh ? store.refresh(user) : store.get(user);
  }

  /**
   * The user's own record, if `pass` is their password. Counted against the hourly allowance
   * of account changes, and as a login attempt (section 4.4): a stolen session must not be a
   * free password oracle.
   */
  private async verifyOwnPassword(client: AuthClient, user: string, pass: string): Promise<UserRecord> {
    const wait = this.accountChanges.take(`user:${userKey(user)}`);
    if (wait > 0) {
      throw new ProtocolError(
        ErrorCode.RATE_LIMITED,
        `at most ${ACCOUNT_CHANGES_PER_HOUR} account changes an hour; try again in ${Math.ceil(wait / 60_000)} min`,
        { retryAfterMs: wait },
      );
    }
    // The same check, back-off and events as a login (a malformed password just fails it:
    // no stored password can match one, section 4.1).
    let record: UserRecord | undefined;
    try {
      record = await this.admitLogin(client, { proto: PROTOCOL_VERSION, user, pass })();
    } catch (err) {
      if (err instanceof ProtocolError && err.code === ErrorCode.AUTH_FAILED) {
        throw new ProtocolError(ErrorCode.AUTH_FAILED, 'wrong password');
      }
      throw err;
    }
    // Undefined: the client hung up during the check; its outcome was counted all the same.
    if (!record) throw new ProtocolError(ErrorCode.DISCONNECTED, 'the connection closed during the check');
    return record;
  }
}

function rateLimitError(retryAfterMs: number): ProtocolError {
  const seconds = Math.ceil(retryAfterMs / 1000);
  return new ProtocolError(ErrorCode.RATE_LIMITED, `too many failed attempts; try again in ${seconds} s`, {
    retryAfterMs,
  });
}

function changedMeanwhile(): ProtocolError {
  // Another connection changed the password or deleted the account while this was checked.
  return new ProtocolError(
    ErrorCode.AUTH_FAILED,
    'the account was changed from another connection meanwhile; log in again',
  );
}
