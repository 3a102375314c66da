/**
 * `p2p-server accounts import <users.csv>` and `accounts export <file.csv>` (README "Cluster",
 * docs/CLUSTER.md "Accounts"): move accounts between a users.csv (the format an operator reads
 * and backs up, src/server/users/csv-format.ts) and a cluster's Redis. Import checks every row
 * first (names, scrypt hashes: never a plaintext password) and changes nothing if one is bad;
 * then it adds each user that is not there yet, atomically per user, and tells the running
 * nodes. Export writes the file atomically, readable by its owner only.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../util/atomic-file.ts';
import { storageError } from '../../util/storage-error.ts';
import { formatUsersCsv, parseUsersCsv } from '../users/csv-format.ts';
import { userKey, type UserRecord } from '../users/store.ts';
import { ClusterLink } from './link.ts';
import { RedisUserStore } from './user-store.ts';

/** Users added to Redis at once during an import (each its own atomic script call). */
const IMPORT_BATCH = 100;
/** Skipped names listed in the report; the rest are counted. */
const MAX_NAMES_SHOWN = 50;

export interface AccountsCliOptions {
  /** redis://host:port[/db] */
  cluster: string;
  /** Key prefix of the cluster in Redis (default `p2p:`). */
  prefix?: string;
}

export interface ImportReport {
  imported: string[];
  skipped: string[];
  /** One line for the operator. */
  summary: string;
}

/** Add the accounts of a users.csv that the cluster does not have. Throws, naming the line, on a bad file. */
export async function importAccounts(file: string, options: AccountsCliOptions): Promise<ImportReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw storageError(err, file, 'read');
  }
  const records = parseUsersCsv(text, file); // every row checked before anything is added
  return withStore(options, async (store) => {
    const imported: string[] = [];
    const skipped: string[] = [];
    for (let i = 0; i < records.length; i += IMPORT_BATCH) {
      const batch = records.slice(i, i + IMPORT_BATCH);
      let added: boolean[];
      try {
        added = await Promise.all(batch.map((record) => store.importRecord(record)));
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(`${why} (imported ${imported.length} before this; run the import again to add the rest)`, {
          cause: err,
        });
      }
      for (const [j, record] of batch.entries()) (added[j] ? imported : skipped).push(record.username);
    }
    return { imported, skipped, summary: importSummary(imported, skipped) };
  });
}

/** Write every account of the cluster to a users.csv; resolves the number written. */
export async function exportAccounts(file: string, options: AccountsCliOptions): Promise<number> {
  return withStore(options, async (store) => {
    if (store.dropped > 0) throw new Error(`${store.dropped} account records in Redis are damaged; nothing written`);
    // Registration order, as the CSV store keeps it (Redis gives a hash in no fixed order).
    const records = store.list().sort(byCreation);
    await writeFileAtomic(file, formatUsersCsv(records), 0o600);
    return records.length;
  });
}

function byCreation(a: UserRecord, b: UserRecord): number {
  return a.createdAt - b.createdAt || (userKey(a.username) < userKey(b.username) ? -1 : 1);
}

function importSummary(imported: string[], skipped: string[]): string {
  const line = `imported ${imported.length}, skipped ${skipped.length} (already there)`;
  if (skipped.length === 0) return line;
  const shown = skipped.slice(0, MAX_NAMES_SHOWN).join(', ');
  const more = skipped.length > MAX_NAMES_SHOWN ? ` and ${skipped.length - MAX_NAMES_SHOWN} more` : '';
  return `${line}: ${shown}${more}`;
}

/** The cluster's account store for one command, on a link that does not join the node list. */
async function withStore<T>(options: AccountsCliOptions, work: (store: RedisUserStore) => Promise<T>): Promise<T> {
  const link = await ClusterLink.connect({ url: options.cluster, prefix: options.prefix, member: false });
  const store = new RedisUserStore(link);
  try {
    await store.open();
    return await work(store);
  } finally {
    await store.close();
    await link.close();
  }
}
