/**
 * Password hashing with scrypt-kdf, off the event loop, with a bound on hashes in flight.
 * Each hash holds a libuv threadpool thread for ~50-200 ms; letting a login storm take all
 * four would queue every fs write behind it (measured here: an fs stat waited 3.6-7.7 s during
 * 200 concurrent hashes at logN 14, against 0.15 ms idle), so at most one thread
 * fewer than the pool is used and further requests wait in a bounded queue.
 */
import { availableParallelism } from 'node:os';
import * as ScryptTyped from 'scrypt-kdf';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { Semaphore } from '../../util/semaphore.ts';
import { DEFAULT_SCRYPT_LOG_N } from '../defaults.ts';

// scrypt-kdf@4 declares named exports but only has a default export at run time.
const Scrypt = (ScryptTyped as unknown as { default: typeof ScryptTyped }).default;

/**
 * One scrypt-kdf hash at cost `logN`, as stored (base64 of the 96-byte self-describing key),
 * with no bound on concurrency: for tools that write users.csv directly (tests, benches).
 * The server hashes through PasswordHasher.
 */
export async function scryptHash(password: string, logN: number): Promise<string> {
  return Buffer.from(await Scrypt.kdf(password, { logN, r: 8, p: 1 })).toString('base64');
}

export { DEFAULT_SCRYPT_LOG_N };
export const MIN_SCRYPT_LOG_N = 10;
export const MAX_QUEUED_HASHES = 512;

function threadpoolSize(): number {
  const configured = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(configured) && configured > 0 ? configured : 4;
}

export function defaultHashConcurrency(): number {
  return Math.max(1, Math.min(availableParallelism(), threadpoolSize() - 1));
}

export interface PasswordHasherOptions {
  logN?: number;
  concurrency?: number;
  maxQueued?: number;
}

export class PasswordHasher {
  readonly logN: number;
  private readonly gate: Semaphore;
  private dummyHash: Promise<string> | null = null;

  constructor(options: PasswordHasherOptions = {}) {
    this.logN = options.logN ?? DEFAULT_SCRYPT_LOG_N;
    if (!Number.isInteger(this.logN) || this.logN < MIN_SCRYPT_LOG_N || this.logN > 20) {
      throw new RangeError(`scrypt cost logN must be an integer from ${MIN_SCRYPT_LOG_N} to 20`);
    }
    this.gate = new Semaphore(options.concurrency ?? defaultHashConcurrency(), options.maxQueued ?? MAX_QUEUED_HASHES);
  }

  get inFlight(): number {
    return this.gate.inFlight;
  }
  get queued(): number {
    return this.gate.queued;
  }

  /** Base64 of scrypt-kdf's 96-byte self-describing key (params, salt, hash). */
  async hash(password: string): Promise<string> {
    return this.gated(() => scryptHash(password, this.logN));
  }

  async verify(storedHash: string, password: string): Promise<boolean> {
    return this.gated(() => Scrypt.verify(Buffer.from(storedHash, 'base64'), password));
  }

  /**
   * Spend the same work as a real verify for a user that does not exist, so response time
   * does not tell whether a username is registered.
   */
  async verifyNobody(password: string): Promise<false> {
    this.dummyHash ??= this.hash('\u0000no-such-user');
    await this.verify(await this.dummyHash, password);
    return false;
  }

  private async gated<T>(fn: () => Promise<T>): Promise<T> {
    const result = await this.gate.run(fn);
    if (!result)
      throw new ProtocolError(ErrorCode.SERVER_BUSY, 'server is busy with logins; try again in a few seconds', {
        retryAfterMs: 2_000,
      });
    return result.value;
  }
}

/**
 * The scrypt cost (logN) a stored hash was made with: scrypt-kdf's header is "scrypt", a
 * version byte, then logN (https://github.com/chrisveness/scrypt-kdf#key-format).
 */
export function hashCost(storedHash: string): number {
  return Buffer.from(storedHash, 'base64')[7] ?? 0;
}

/** True if `value` looks like a hash this module wrote (used to validate users.csv). */
export function isScryptHash(value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const raw = Buffer.from(value, 'base64');
  return raw.length === 96 && raw.subarray(0, 6).toString('latin1') === 'scrypt';
}
