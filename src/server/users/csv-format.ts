/**
 * The users.csv format (PROTOCOL.md section 4.2), in one place: the CSV store reads and writes
 * it, and `p2p-server accounts import/export` move a cluster's accounts through it.
 * Columns: username,password_hash,created_at,last_seen_at (ISO 8601 times).
 */
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { USERNAME_PATTERN } from '../../net/constants.ts';
import { isScryptHash } from './passwords.ts';
import { userKey, type UserRecord } from './store.ts';

export const USERS_CSV_COLUMNS = ['username', 'password_hash', 'created_at', 'last_seen_at'] as const;
const REQUIRED_COLUMNS = ['username', 'password_hash', 'created_at'] as const;

export class UserStoreError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    detail: string,
  ) {
    super(`${file}${line === null ? '' : `, line ${line}`}: ${detail}`);
    this.name = 'UserStoreError';
  }
}

/** The whole file for these records, header first, in the order given. */
export function formatUsersCsv(records: Iterable<UserRecord>): string {
  const rows = [...records].map((u) => [
    u.username,
    u.passwordHash,
    new Date(u.createdAt).toISOString(),
    u.lastSeenAt === null ? '' : new Date(u.lastSeenAt).toISOString(),
  ]);
  return stringify([[...USERS_CSV_COLUMNS], ...rows]);
}

/** Parse and validate users.csv; every problem names its line. */
export function parseUsersCsv(text: string, file: string): UserRecord[] {
  let rows: string[][];
  try {
    rows = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false });
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new UserStoreError(file, e.lines ?? null, `not valid CSV (${e.message})`);
  }
  const [headerRow] = rows;
  if (!headerRow) return [];
  const header = headerRow.map((h) => h.trim());
  const index = new Map(header.map((name, i) => [name, i]));
  for (const column of REQUIRED_COLUMNS) {
    if (!index.has(column))
      throw new UserStoreError(file, 1, `header has no "${column}" column (found: ${header.join(',')})`);
  }
  const seen = new Map<string, number>();
  const records: UserRecord[] = [];
  // csv-parse skips empty lines, so count physical lines to name them right.
  const lineOf = physicalLineFinder(text);
  rows.slice(1).forEach((row, i) => {
    const line = lineOf(i + 1);
    const cell = (name: string) => row[index.get(name) ?? -1] ?? '';
    const username = cell('username');
    if (!USERNAME_PATTERN.test(username))
      throw new UserStoreError(file, line, `invalid username ${JSON.stringify(username)}`);
    const previous = seen.get(userKey(username));
    if (previous !== undefined)
      throw new UserStoreError(file, line, `username "${username}" already appears on line ${previous}`);
    seen.set(userKey(username), line);
    const passwordHash = cell('password_hash');
    if (!isScryptHash(passwordHash))
      throw new UserStoreError(file, line, `password_hash of "${username}" is not a scrypt-kdf hash`);
    const createdAt = Date.parse(cell('created_at'));
    if (Number.isNaN(createdAt)) throw new UserStoreError(file, line, `created_at of "${username}" is not a date`);
    const seenText = index.has('last_seen_at') ? cell('last_seen_at') : '';
    const lastSeenAt = seenText === '' ? null : Date.parse(seenText);
    if (lastSeenAt !== null && Number.isNaN(lastSeenAt))
      throw new UserStoreError(file, line, `last_seen_at of "${username}" is not a date`);
    records.push({ username, passwordHash, createdAt, lastSeenAt });
  });
  return records;
}

/**
 * Map a record index (0 = header) to its 1-based line in the file. Our writer never puts a
 * newline inside a field (usernames cannot hold one), so each non-empty line is one record.
 */
function physicalLineFinder(text: string): (recordIndex: number) => number {
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((content, i) => {
    if (content.trim() !== '') lines.push(i + 1);
  });
  return (recordIndex) => lines[recordIndex] ?? recordIndex + 1;
}
