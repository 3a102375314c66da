/**
 * The servers a client may use (README "Client", PROTOCOL.md section 3.7): one `host[:port]`,
 * or the nodes of a cluster as `host1:port,host2:port`. Every node speaks the same protocol,
 * so the client uses whichever answers. Parsing and naming are pure; addressesOf asks DNS.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ErrorCode, ProtocolError } from '../net/errors.ts';

export interface ServerAddress {
  host: string;
  port: number;
}

/** Entries in one list; more is a typo or an attack on the client's patience, not a cluster. */
export const MAX_SERVERS = 32;
/** A DNS name or an IP literal: letters, digits, dots, hyphens, underscores, colons (IPv6). */
const HOST_PATTERN = /^[A-Za-z0-9._:-]{1,253}$/;

/** `host:port`, with brackets around an IPv6 address (`[::1]:4400`), as known_hosts writes it. */
export function formatServer({ host, port }: ServerAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Parse `host`, `host:port`, `[v6]:port` or a comma-separated list of them; entries without a
 * port take `defaultPort`. A bare IPv6 address (`::1`) is one host. Throws an Error naming every
 * bad entry and why; duplicates are dropped.
 */
export function parseServerList(text: string, defaultPort: number): ServerAddress[] {
  const entries = text.split(',').map((e) => e.trim());
  const bad: string[] = [];
  const found = new Map<string, ServerAddress>();
  for (const entry of entries) {
    const parsed = parseEntry(entry, defaultPort);
    if (typeof parsed === 'string') bad.push(`"${entry}" (${parsed})`);
    else found.set(formatServer(parsed), parsed);
  }
  if (bad.length > 0) throw new Error(`bad server address${bad.length > 1 ? 'es' : ''}: ${bad.join(', ')}`);
  if (found.size > MAX_SERVERS) throw new Error(`at most ${MAX_SERVERS} servers in a list, not ${found.size}`);
  return [...found.values()];
}

/** The address, or why it is not one. */
function parseEntry(entry: string, defaultPort: number): ServerAddress | string {
  if (entry === '') return 'empty';
  let host = entry;
  let portText: string | null = null;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(entry);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2] ?? null;
    if (isIP(host) !== 6) return 'brackets are for an IPv6 address';
  } else if (entry.split(':').length === 2) {
    [host, portText] = entry.split(':') as [string, string];
  } else if (entry.includes(':') && isIP(entry) !== 6) {
    return 'not an IPv6 address; write [address]:port';
  }
  if (!HOST_PATTERN.test(host)) return 'not a host name or IP address';
  if (portText === null) return { host, port: defaultPort };
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return 'the port must be 1-65535';
  return { host, port };
}

/**
 * The name a cluster's certificate is pinned under in known_hosts (PROTOCOL.md 3.5): one node
 * is `host:port` as before; several are their sorted `host:port`s joined by commas, so the
 * same list in another order is the same cluster.
 */
export function clusterKey(nodes: readonly ServerAddress[]): string {
  return [...new Set(nodes.map(formatServer))].sort().join(',');
}

/** The node a cluster's local files are named after (its history dir): the first of clusterKey's order. */
export function homeOf(nodes: readonly ServerAddress[]): ServerAddress | undefined {
  return [...nodes].sort((a, b) => (formatServer(a) < formatServer(b) ? -1 : 1))[0];
}

/** Node indexes for one round of attempts: `from` first, then the others in order, wrapping. */
export function roundFrom(count: number, from: number): number[] {
  const start = ((from % count) + count) % count;
  return Array.from({ length: count }, (_, i) => (start + i) % count);
}

/**
 * Every address a node's host name resolves to (a name with several A/AAAA records is several
 * servers), or the host itself when it is an IP literal.
 */
export async function addressesOf(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  try {
    const found = await lookup(host, { all: true });
    const addresses = [...new Set(found.map((a) => a.address))];
    if (addresses.length > 0) return addresses;
  } catch (err) {
    throw new ProtocolError(ErrorCode.UNREACHABLE, `cannot resolve ${host}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  throw new ProtocolError(ErrorCode.UNREACHABLE, `cannot resolve ${host}: no address`);
}
