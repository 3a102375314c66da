/**
 * Trust on first use, as ssh's known_hosts: the first time we reach a server we remember its
 * certificate fingerprint; later, a different fingerprint is refused (PROTOCOL.md 3.5).
 * File: <config dir>/known_hosts, one "host:port fingerprint" a line.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FINGERPRINT_PATTERN } from '../net/tls.ts';
import { writeFileAtomic } from '../util/atomic-file.ts';

export type HostCheck = { status: 'known' } | { status: 'unknown' } | { status: 'changed'; pinned: string };

export class KnownHosts {
  readonly path: string;

  constructor(readonly configDir: string) {
    this.path = join(configDir, 'known_hosts');
  }

  static key(host: string, port: number): string {
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  async check(host: string, port: number, fingerprint: string): Promise<HostCheck> {
    const pinned = (await this.read()).get(KnownHosts.key(host, port));
    if (pinned === undefined) return { status: 'unknown' };
    return pinned === fingerprint ? { status: 'known' } : { status: 'changed', pinned };
  }

  async pin(host: string, port: number, fingerprint: string): Promise<void> {
    const entries = await this.read();
    entries.set(KnownHosts.key(host, port), fingerprint);
    await mkdir(this.configDir, { recursive: true, mode: 0o700 });
    const text = [...entries].map(([k, fp]) => `${k} ${fp}\n`).join('');
    await writeFileAtomic(this.path, text, 0o600);
  }

  /** Forget a host (what the user does after confirming a legitimate key change). */
  async forget(host: string, port: number): Promise<void> {
    const entries = await this.read();
    if (!entries.delete(KnownHosts.key(host, port))) return;
    await writeFileAtomic(this.path, [...entries].map(([k, fp]) => `${k} ${fp}\n`).join(''), 0o600);
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
