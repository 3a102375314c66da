/**
 * Trust on first use, as ssh's known_hosts: the first time we reach a server we remember its
 * certificate fingerprint; later, a different fingerprint is refused (PROTOCOL.md 3.5).
 * File: <config dir>/known_hosts, one "name fingerprint" a line, where the name is a server's
 * "host:port", or a cluster's sorted "host1:port,host2:port" (server-list.ts clusterKey): the
 * nodes of a cluster share one certificate, so one pin covers them all (PROTOCOL.md 3.7).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FINGERPRINT_PATTERN } from '../net/tls.ts';
import { writeFileAtomic } from '../util/atomic-file.ts';
import { formatServer } from './server-list.ts';

export type HostCheck = { status: 'known' } | { status: 'unknown' } | { status: 'changed'; pinned: string };
/** As HostCheck; a change also says which line holds the old pin (the one to remove if it is legitimate). */
export type NameCheck = Exclude<HostCheck, { status: 'changed' }> | { status: 'changed'; pinned: string; name: string };

export class KnownHosts {
  readonly path: string;

  constructor(readonly configDir: string) {
    this.path = join(configDir, 'known_hosts');
  }

  static key(host: string, port: number): string {
    return formatServer({ host, port });
  }

  async check(host: string, port: number, fingerprint: string): Promise<HostCheck> {
    const check = await this.checkName(KnownHosts.key(host, port), [], fingerprint);
    return check.status === 'changed' ? { status: 'changed', pinned: check.pinned } : check;
  }

  /**
   * Check the pin under `name`; when there is none, the first of `fallbacks` that has one
   * decides. A cluster's nodes are the fallbacks of its name, so a file from before clusters
   * (one line per `host:port`) still guards a list that contains that server.
   */
  async checkName(name: string, fallbacks: readonly string[], fingerprint: string): Promise<NameCheck> {
    const entries = await this.read();
    const decider = [name, ...fallbacks].find((n) => entries.has(n));
    const pinned = decider === undefined ? undefined : entries.get(decider);
    if (decider === undefined || pinned === undefined) return { status: 'unknown' };
    return pinned === fingerprint ? { status: 'known' } : { status: 'changed', pinned, name: decider };
  }

  async pin(host: string, port: number, fingerprint: string): Promise<void> {
    await this.pinName(KnownHosts.key(host, port), fingerprint);
  }

  async pinName(name: string, fingerprint: string): Promise<void> {
    const entries = await this.read();
    entries.set(name, fingerprint);
    await mkdir(this.configDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path, format(entries), 0o600);
  }

  /** Forget a host (what the user does after confirming a legitimate key change). */
  async forget(host: string, port: number): Promise<void> {
    const entries = await this.read();
    if (!entries.delete(KnownHosts.key(host, port))) return;
    await writeFileAtomic(this.path, format(entries), 0o600);
  }

  private async read(): Promise<Map<string, string>> {
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const entries = new Map<string, string>();
    for (const line of text.split('\n')) {
      const [key, fp] = line.trim().split(/\s+/);
      if (key && fp && FINGERPRINT_PATTERN.test(fp)) entries.set(key, fp);
    }
    return entries;
  }
}

function format(entries: Map<string, string>): string {
  return [...entries].map(([k, fp]) => `${k} ${fp}\n`).join('');
}
