/**
 * One round over a cluster's nodes (PROTOCOL.md section 3.7): open a link to each node in turn,
 * every address of its host name, until one opens and the caller's step on it (a login)
 * succeeds. Errors about one node (unreachable, timed out, closed, busy, full, cut off from
 * Redis) move on to the next; errors about the user or the cluster's identity end the round at
 * once, since every node would give the same answer.
 */
import { ErrorCode, ProtocolError } from '../net/errors.ts';
import type { KnownHosts } from './known-hosts.ts';
import { ServerLink, type TrustDecider } from './server-link.ts';
import { addressesOf, clusterKey, formatServer, roundFrom, type ServerAddress } from './server-list.ts';

/** The node a link is open to: its place in the list, and the address its name resolved to. */
export interface NodeAt extends ServerAddress {
  index: number;
  address: string;
}

/** The same answer from every node: trying the next one changes nothing (or, for a key, must not). */
const ENDS_ROUND: ReadonlySet<string> = new Set([
  ErrorCode.AUTH_FAILED,
  ErrorCode.FINGERPRINT_CHANGED,
  ErrorCode.FINGERPRINT_REJECTED,
  ErrorCode.VERSION,
  // Login back-off is shared by the cluster (docs/CLUSTER.md): wait, do not walk the list.
  ErrorCode.RATE_LIMITED,
]);

export interface RoundOptions<T> {
  nodes: readonly ServerAddress[];
  /** Index of the first node to try. */
  from: number;
  knownHosts: KnownHosts;
  trust: TrustDecider;
  connectTimeoutMs?: number;
  /** True once the client was closed: stop trying. */
  closed: () => boolean;
  /** The step on an open link (nothing, or a login). Rejecting tries the next node; it closes the link itself. */
  use: (link: ServerLink, at: NodeAt) => Promise<T>;
  /** Host name to addresses (default: the system resolver, addressesOf). */
  resolve?: (host: string) => Promise<string[]>;
}

/** Resolves with the first node's result; rejects with the error that ended the round, or all of them. */
export async function tryNodes<T>(options: RoundOptions<T>): Promise<T> {
  const { nodes } = options;
  const failures: Array<{ node: ServerAddress; error: ProtocolError }> = [];
  for (const index of roundFrom(nodes.length, options.from)) {
    const node = nodes[index] as ServerAddress;
    let addresses: string[];
    try {
      addresses = await (options.resolve ?? addressesOf)(node.host);
    } catch (err) {
      failures.push({ node, error: asProtocolError(err) });
      continue;
    }
    for (const address of addresses) {
      if (options.closed()) throw new ProtocolError(ErrorCode.DISCONNECTED, 'closed');
      try {
        const link = await ServerLink.open({
          host: node.host,
          port: node.port,
          address: address === node.host ? undefined : address,
          pin: pinFor(nodes, node),
          knownHosts: options.knownHosts,
          trust: options.trust,
          connectTimeoutMs: options.connectTimeoutMs,
        });
        return await options.use(link, { ...node, index, address });
      } catch (err) {
        const error = asProtocolError(err);
        if (ENDS_ROUND.has(error.code)) throw error;
        failures.push({ node, error });
      }
    }
  }
  return Promise.reject(roundFailed(failures));
}

/**
 * One pin for the whole cluster (section 3.7): the nodes share a certificate. A known_hosts from
 * before clusters may hold a node's own `host:port` line: this node's first, then the others'.
 */
function pinFor(nodes: readonly ServerAddress[], node: ServerAddress): { name: string; fallbacks: string[] } {
  const own = formatServer(node);
  if (nodes.length === 1) return { name: own, fallbacks: [] };
  const others = nodes.map(formatServer).filter((n) => n !== own);
  return { name: clusterKey(nodes), fallbacks: [own, ...others] };
}

/** One node's error as it was (one server: as before clusters); several, each named. */
function roundFailed(failures: Array<{ node: ServerAddress; error: ProtocolError }>): ProtocolError {
  const last = failures.at(-1)?.error ?? new ProtocolError(ErrorCode.UNREACHABLE, 'no server to connect to');
  if (failures.length <= 1) return last;
  const retryAfterMs = Math.max(0, ...failures.map((f) => f.error.retryAfterMs ?? 0));
  const each = failures.map(({ node, error }) => {
    const name = formatServer(node);
    return error.message.includes(name) ? error.message : `${name}: ${error.message}`;
  });
  return new ProtocolError(last.code, `no server answered: ${each.join('; ')}`, {
    cause: last,
    ...(retryAfterMs > 0 ? { retryAfterMs } : {}),
  });
}

export function asProtocolError(err: unknown): ProtocolError {
  return err instanceof ProtocolError ? err : new ProtocolError(ErrorCode.UNREACHABLE, String(err));
}
