/**
 * The history's cryptography, node:crypto only. A random 256-bit data key seals every record
 * (AES-256-GCM, a random 96-bit nonce each); the data key itself is kept wrapped (AES-256-GCM)
 * by a key derived from the user's password with scrypt, so a password change re-wraps 32
 * bytes instead of re-encrypting every file. Nothing here logs or returns key material in an
 * error message.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt } from 'node:crypto';

export const DATA_KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const SALT_BYTES = 16;
/** 2^15 (32 MiB of memory): about a tenth of a second on a small machine, paid once per login. */
export const HISTORY_SCRYPT_LOG_N = 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const CIPHER = 'aes-256-gcm';
const WRAP_AAD = Buffer.from('p2p-broadcast history data key v1');

export const HistoryErrorCode = {
  /** The key file does not open with this password (wrong password, or another account's files). */
  LOCKED: 'E_HISTORY_LOCKED',
  /** The key file is not one we wrote (unreadable JSON, wrong sizes, unknown version). */
  BAD_KEY_FILE: 'E_HISTORY_BAD_KEY_FILE',
} as const;
export type HistoryErrorCode = (typeof HistoryErrorCode)[keyof typeof HistoryErrorCode];

export class HistoryError extends Error {
  constructor(
    readonly code: HistoryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HistoryError';
  }
}

export interface KdfParams {
  name: 'scrypt';
  salt: string;
  logN: number;
  r: number;
  p: number;
}

/** What key.json holds: the scrypt parameters and the wrapped data key (base64). */
export interface KeyFile {
  v: 1;
  kdf: KdfParams;
  nonce: string;
  wrapped: string;
}

function deriveKey(password: string, kdf: KdfParams): Promise<Buffer> {
  const N = 2 ** kdf.logN;
  return new Promise((resolve, reject) =>
    // maxmem: scrypt needs 128 * N * r bytes; Node's default (32 MiB) refuses logN 15 at r 8.
    scrypt(
      password,
      Buffer.from(kdf.salt, 'base64'),
      DATA_KEY_BYTES,
      { N, r: kdf.r, p: kdf.p, maxmem: 256 * N * kdf.r },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

function gcmSeal(key: Buffer, plain: Buffer, aad: Buffer): { nonce: Buffer; sealed: Buffer } {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(CIPHER, key, nonce);
  cipher.setAAD(aad);
  const sealed = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return { nonce, sealed };
}

/** The plaintext, or null when the tag does not verify (wrong key, altered or moved bytes). */
function gcmOpen(key: Buffer, nonce: Buffer, sealed: Buffer, aad: Buffer): Buffer | null {
  if (sealed.length < TAG_BYTES || nonce.length !== NONCE_BYTES) return null;
  const decipher = createDecipheriv(CIPHER, key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return null;
  }
}

/** A new key file for a new random data key, wrapped by `password`. */
export async function newKeyFile(
  password: string,
  logN = HISTORY_SCRYPT_LOG_N,
): Promise<{ file: KeyFile; dataKey: Buffer }> {
  const dataKey = randomBytes(DATA_KEY_BYTES);
  return { file: await wrapKey(dataKey, password, logN), dataKey };
}

/** Wrap `dataKey` under `password` with a fresh salt (a password change calls this). */
export async function wrapKey(dataKey: Buffer, password: string, logN = HISTORY_SCRYPT_LOG_N): Promise<KeyFile> {
  const kdf: KdfParams = {
    name: 'scrypt',
    salt: randomBytes(SALT_BYTES).toString('base64'),
    logN,
    r: SCRYPT_R,
    p: SCRYPT_P,
  };
  const { nonce, sealed } = gcmSeal(await deriveKey(password, kdf), dataKey, WRAP_AAD);
  return { v: 1, kdf, nonce: nonce.toString('base64'), wrapped: sealed.toString('base64') };
}

/** Parse key.json's text; throws HistoryError BAD_KEY_FILE on anything we did not write. */
export function parseKeyFile(text: string): KeyFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HistoryError(HistoryErrorCode.BAD_KEY_FILE, 'the history key file is not valid JSON', { cause: err });
  }
  const k = raw as Partial<KeyFile> | null;
  const kdf = k?.kdf;
  const ok =
    k?.v === 1 &&
    typeof k.nonce === 'string' &&
    typeof k.wrapped === 'string' &&
    kdf?.name === 'scrypt' &&
    typeof kdf.salt === 'string' &&
    // Bounded so a planted file cannot make us allocate gigabytes: 2^20 * 8 * 128 = 1 GiB is the ceiling.
    Number.isInteger(kdf.logN) &&
    kdf.logN >= 1 &&
    kdf.logN <= 20 &&
    Number.isInteger(kdf.r) &&
    kdf.r >= 1 &&
    kdf.r <= 32 &&
    Number.isInteger(kdf.p) &&
    kdf.p >= 1 &&
    kdf.p <= 16;
  if (!ok) throw new HistoryError(HistoryErrorCode.BAD_KEY_FILE, 'the history key file is not one this client wrote');
  return k as KeyFile;
}

/** The data key, or HistoryError LOCKED when this password does not open it. */
export async function unwrapKey(file: KeyFile, password: string): Promise<Buffer> {
  const key = await deriveKey(password, file.kdf);
  const dataKey = gcmOpen(key, Buffer.from(file.nonce, 'base64'), Buffer.from(file.wrapped, 'base64'), WRAP_AAD);
  if (!dataKey || dataKey.length !== DATA_KEY_BYTES)
    throw new HistoryError(HistoryErrorCode.LOCKED, 'the saved history does not open with this password');
  return dataKey;
}

/**
 * What binds a record to its place: the file's name and the record's index in it. A record
 * copied into another file, or to another position, no longer verifies.
 */
function recordAad(fileName: string, seq: number): Buffer {
  return Buffer.from(`p2p-broadcast history v1\0${fileName}\0${seq}`);
}

/** nonce || ciphertext || tag. */
export function sealRecord(dataKey: Buffer, fileName: string, seq: number, plain: Buffer): Buffer {
  const { nonce, sealed } = gcmSeal(dataKey, plain, recordAad(fileName, seq));
  return Buffer.concat([nonce, sealed]);
}

export function openRecord(dataKey: Buffer, fileName: string, seq: number, record: Buffer): Buffer | null {
  if (record.length < NONCE_BYTES + TAG_BYTES) return null;
  return gcmOpen(dataKey, record.subarray(0, NONCE_BYTES), record.subarray(NONCE_BYTES), recordAad(fileName, seq));
}

/** A file name for a name that must not show on disk (a peer's username): keyed, so it cannot be guessed from a list of names. */
export function hiddenName(dataKey: Buffer, label: string): string {
  return createHmac('sha256', dataKey).update(`file name\0${label}`).digest('hex').slice(0, 32);
}
