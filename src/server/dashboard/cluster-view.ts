/**
 * What a node's dashboard shows of its cluster (docs/CLUSTER.md, README "Cluster"): the live
 * nodes with their sessions and heartbeat age, and every online user with the node they are
 * on. Read-only, and narrow: the link's node list, and a directory of the cluster's users.
 */
import type { NodeInfo } from '../cluster/link.ts';

/** One online user somewhere in the cluster. */
export interface ClusterUser {
  user: string;
  ip: string;
  node: string;
}

/**
 * The cluster-wide user list, read-only: the cluster presence directory's `clusterUsers()`.
 */
export interface ClusterUsersSource {
  clusterUsers(): Iterable<ClusterUser>;
}

/** The part of the cluster link the dashboard reads. */
export interface ClusterNodes {
  readonly nodeId: string;
  liveNodes(): NodeInfo[];
  readonly available: boolean;
}

export interface NodeRow {
  id: string;
  advertise: string;
  sessions: number;
  /** Since the node's last heartbeat, by the two nodes' clocks; null before its first. */
  heartbeatAgeMs: number | null;
  self: boolean;
}

export class ClusterView {
  constructor(
    private readonly link: ClusterNodes,
    private readonly users: ClusterUsersSource,
  ) {}

  get nodeId(): string {
    return this.link.nodeId;
  }

  get redisAvailable(): boolean {
    return this.link.available;
  }

  /** Every live node, this one first, then by id. */
  nodes(now: number): NodeRow[] {
    const rows = this.link.liveNodes().map((n) => ({
      id: n.id,
      advertise: n.advertise,
      sessions: n.sessions,
      heartbeatAgeMs: n.beatAt > 0 ? Math.max(0, now - n.beatAt) : null,
      self: n.id === this.link.nodeId,
    }));
    return rows.sort((a, b) => (a.self !== b.self ? (a.self ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Online users cluster-wide, each with its node. */
  clusterUsers(): Iterable<ClusterUser> {
    return this.users.clusterUsers();
  }
}

function hasClusterUsers(value: unknown): value is ClusterUsersSource {
  return typeof (value as Partial<ClusterUsersSource> | null)?.clusterUsers === 'function';
}

/** The view for a node, over its cluster presence directory (the Redis one lists every node's users). */
export function clusterView(link: ClusterNodes, presence: object): ClusterView {
  if (!hasClusterUsers(presence)) throw new Error('cluster mode needs a presence directory that lists the cluster');
  return new ClusterView(link, presence);
}
