/**
 * The relay across nodes (PROTOCOL.md 6.6; docs/CLUSTER.md "Peer requests and the relay"),
 * with no change for clients. When the two sides of an accepted request are on different
 * nodes, the circuit is made on the requester's node A:
 * 1. A issues both tokens as usual, gives the requester its token, and trades the target's
 *    token for a ticket itself (`issueBridged`); the ticket and A's address go to the
 *    target's node B in `peers.result`.
 * 2. B issues its own pair for the request (`acceptBridge`) and gives the target B's target
 *    token, which the target redeems and opens on B like any relay half.
 * 3. When the target asks B for its ticket, B dials A (TLS, `relay_open` with A's ticket)
 *    and joins that connection to its own circuit as the requester's half. A splices it with
 *    the requester; B splices it with the target. The bytes are the peers' own TLS-PSK
 *    session all the way: neither node holds their key.
 */
import type { Duplex } from 'node:stream';
import { openRelay, UNPINNED } from '../../net/relay-dial.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { RelayLimits } from '../relay/limits.ts';
import { RelayService, type RelayHost } from '../relay/service.ts';

/** Where the requester's node waits for the bridge, and the ticket that opens it. */
export interface BridgeTarget {
  /** host:port of the requester's node (its advertised address). */
  address: string;
  ticket: string;
}

interface Bridge {
  readonly remote: BridgeTarget;
  readonly requester: string;
  readonly requesterToken: string;
  started: boolean;
}

export function clusterRelay(host: RelayHost, limits: Partial<RelayLimits> = {}): ClusterRelay {
  return new ClusterRelay(host, limits);
}

export class ClusterRelay extends RelayService {
  private readonly bridges = new Map<string, Bridge>();

  constructor(
    private readonly relayHost: RelayHost,
    limits: Partial<RelayLimits> = {},
  ) {
    super(relayHost, limits);
  }

  /**
   * Step 1, on the requester's node: the requester's token, and a ticket for the target's
   * node to join as the target's half; null when the relay is off or full.
   */
  issueBridged(reqId: string, requester: string, target: string): { requester: string; ticket: string } | null {
    const tokens = this.issue(reqId, requester, target);
    if (!tokens) return null;
    try {
      const { ticket } = this.redeem(target, reqId, tokens.target);
      return { requester: tokens.requester, ticket };
    } catch {
      return null; // full: the two try the other rungs, as when a node relays nothing
    }
  }

  /** Step 2, on the target's node: the target's token for this node. */
  acceptBridge(reqId: string, requester: string, target: string, remote: BridgeTarget): string | null {
    const tokens = this.issue(reqId, requester, target);
    if (!tokens) return null;
    this.bridges.set(reqId, { remote, requester, requesterToken: tokens.requester, started: false });
    // Most accepted chats go direct and never ask for the relay: forget the bridge with its token.
    setTimeout(() => {
      if (this.bridges.get(reqId)?.started === false) this.bridges.delete(reqId);
    }, this.limits.tokenTtlMs).unref();
    return tokens.target;
  }

  /** Step 3: the target asks for its ticket here, so the bridge to the requester's node opens now. */
  override redeem(user: string, reqId: string, token: string): { ticket: string; expiresInMs: number } {
    const redeemed = super.redeem(user, reqId, token);
    const bridge = this.bridges.get(reqId);
    if (bridge && !bridge.started && token !== bridge.requesterToken) {
      bridge.started = true;
      this.openBridge(reqId, bridge).catch((err: unknown) =>
        this.relayHost.emit('relay_refused', {
          ip: bridge.remote.address,
          user: bridge.requester,
          code: err instanceof ProtocolError ? err.code : ErrorCode.UNREACHABLE,
          reason: `no bridge to the requester's node: ${err instanceof Error ? err.message : String(err)}`,
        }),
      );
    }
    return redeemed;
  }

  private async openBridge(reqId: string, bridge: Bridge): Promise<void> {
    const { host, port } = splitAddress(bridge.remote.address);
    let stream: Duplex;
    try {
      stream = await openRelay({
        host,
        port,
        fingerprint: UNPINNED,
        ticket: bridge.remote.ticket,
        timeoutMs: this.limits.pairTimeoutMs + this.limits.ticketTtlMs,
      });
    } finally {
      this.bridges.delete(reqId);
    }
    try {
      const { ticket } = super.redeem(bridge.requester, reqId, bridge.requesterToken);
      // The circuit here starts reading it once the target's half is in.
      this.claim(ticket, host).join(stream, null);
    } catch (err) {
      stream.destroy();
      throw err;
    }
  }
}

/** host:port or [v6]:port. */
function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new ProtocolError(ErrorCode.UNREACHABLE, `bad node address "${address}"`);
  }
  return { host, port };
}
