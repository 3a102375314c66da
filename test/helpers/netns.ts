/**
 * A real NAT on one machine: network namespaces joined by veth
 * pairs, routers that masquerade with nftables. Addresses come only from 198.18.0.0/15 (the
 * benchmarking range): 198.18.0.0/24 is the "internet", 198.19.<n>.0/24 the home network
 * behind router n. Everything lives in namespaces this helper creates; the host's own
 * interfaces and routes are never touched. Names carry a per-run suffix with this process's
 * pid, so a later run can remove what a crashed run left behind, and cleanup removes every
 * namespace (its veths go with it) even after a failure.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'p2pnat';
export const INTERNET_HOST = '198.18.0.1';

function run([command, ...args]: [string, ...string[]], input?: string): string {
  return execFileSync(command, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** True when this process may build namespaces (root, `ip` and `nft` present). */
export function netnsAvailable(): { ok: true } | { ok: false; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root' };
  for (const tool of ['ip', 'nft']) {
    try {
      run(['which', tool]);
    } catch {
      return { ok: false, why: `${tool} is not installed` };
    }
  }
  return { ok: true };
}

/** Namespaces of earlier runs whose process is gone. */
export function removeStaleNamespaces(): void {
  const names = run(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${PREFIX}-`));
  for (const name of names) {
    const pid = Number(name.split('-')[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) deleteNamespace(name);
  }
}

function deleteNamespace(name: string): void {
  try {
    run(['ip', 'netns', 'del', name]);
  } catch {
    // already gone
  }
}

export interface Host {
  /** The namespace to run processes in (`ip netns exec <ns> ...`). */
  ns: string;
  /** Its own address. */
  address: string;
  /** The address the internet sees for it (its router's, when behind NAT). */
  publicAddress: string;
}

export class NatLab {
  private readonly namespaces: string[] = [];
  private readonly suffix: string;
  private readonly internet: string;
  private nextPublic = 10;
  private nextHome = 1;
  private nextVeth = 0;
  private readonly tmp = mkdtempSync(join(tmpdir(), 'p2p-nft-'));

  /** The "internet": a namespace with a bridge that every public host and router joins. */
  constructor() {
    removeStaleNamespaces();
    this.suffix = `${process.pid}-${Math.random().toString(16).slice(2, 6)}`;
    this.internet = this.addNamespace('net');
    try {
      this.ip(this.internet, ['link', 'add', 'br0', 'type', 'bridge']);
      this.ip(this.internet, ['link', 'set', 'br0', 'up']);
      this.ip(this.internet, ['addr', 'add', `${INTERNET_HOST}/24`, 'dev', 'br0']);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The namespace of the internet's own host, 198.18.0.1 (where the server runs). */
  get server(): Host {
    return { ns: this.internet, address: INTERNET_HOST, publicAddress: INTERNET_HOST };
  }

  /** A host with a public address on the internet. */
  publicHost(): Host {
    const ns = this.addNamespace(`h${this.nextPublic}`);
    const address = `198.18.0.${this.nextPublic++}`;
    this.plugIntoInternet(ns, address);
    this.ip(ns, ['route', 'add', 'default', 'via', INTERNET_HOST]);
    return { ns, address, publicAddress: address };
  }

  /**
   * A host on its own home network behind a masquerading router without forwarded ports.
   * The router refuses unsolicited connections (a RST, so a dial fails at once); `silent`
   * makes it drop them instead, as many home routers do (a dial then waits out its deadline).
   */
  hostBehindNat(options: { silent?: boolean } = {}): Host {
    const n = this.nextHome++;
    const router = this.addNamespace(`r${n}`);
    const ns = this.addNamespace(`c${n}`);
    const publicAddress = `198.18.0.${this.nextPublic++}`;
    const wan = this.plugIntoInternet(router, publicAddress);
    const lanRouter = this.vethName();
    const lanHost = this.vethName();
    run(['ip', 'link', 'add', lanRouter, 'netns', router, 'type', 'veth', 'peer', 'name', lanHost, 'netns', ns]);
    this.ip(router, ['addr', 'add', `198.19.${n}.1/24`, 'dev', lanRouter]);
    this.ip(router, ['link', 'set', lanRouter, 'up']);
    this.ip(ns, ['addr', 'add', `198.19.${n}.2/24`, 'dev', lanHost]);
    this.ip(ns, ['link', 'set', lanHost, 'up']);
    this.ip(ns, ['route', 'add', 'default', 'via', `198.19.${n}.1`]);
    run(['ip', 'netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    // The rule file needs newlines (STACK.md): masquerade what leaves by the WAN side.
    const rules = join(this.tmp, `${router}.nft`);
    let text = `table ip nat {\n chain post {\n  type nat hook postrouting priority 100;\n  oifname "${wan}" masquerade\n }\n}\n`;
    if (options.silent)
      text += `table ip filter {\n chain input {\n  type filter hook input priority 0;\n  iifname "${wan}" ct state new drop\n }\n}\n`;
    writeFileSync(rules, text);
    run(['ip', 'netns', 'exec', router, 'nft', '-f', rules]);
    return { ns, address: `198.19.${n}.2`, publicAddress };
  }

  /** `ip netns exec <ns>` as a command prefix. */
  exec(host: Host | string): string[] {
    return ['ip', 'netns', 'exec', typeof host === 'string' ? host : host.ns];
  }

  /** Remove every namespace (their veths and rules go with them). Idempotent. */
  close(): void {
    for (const ns of this.namespaces.splice(0).reverse()) deleteNamespace(ns);
    rmSync(this.tmp, { recursive: true, force: true });
  }

  private addNamespace(role: string): string {
    const name = `${PREFIX}-${this.suffix}-${role}`;
    run(['ip', 'netns', 'add', name]);
    this.namespaces.push(name);
    this.ip(name, ['link', 'set', 'lo', 'up']);
    return name;
  }

  /** A veth from `ns` into the internet's bridge; returns the name of the end inside `ns`. */
  private plugIntoInternet(ns: string, address: string): string {
    const inside = this.vethName();
    const bridgeSide = this.vethName();
    run(['ip', 'link', 'add', inside, 'netns', ns, 'type', 'veth', 'peer', 'name', bridgeSide, 'netns', this.internet]);
    this.ip(this.internet, ['link', 'set', bridgeSide, 'master', 'br0']);
    this.ip(this.internet, ['link', 'set', bridgeSide, 'up']);
    this.ip(ns, ['addr', 'add', `${address}/24`, 'dev', inside]);
    this.ip(ns, ['link', 'set', inside, 'up']);
    return inside;
  }

  /** Interface names are at most 15 bytes and per namespace; a counter keeps them unique anyway. */
  private vethName(): string {
    return `pv${this.nextVeth++}`;
  }

  private ip(ns: string, args: string[]): void {
    run(['ip', '-n', ns, ...args]);
  }
}
