/**
 * A node's link to the cluster (README "Cluster", PROTOCOL.md section 9): two Redis
 * connections (commands, and a subscriber for the message bus), this node's heartbeat, and
 * the list of live nodes. Features (accounts, presence, peers, broadcasts) keep their shared
 * state in Redis through `redis`, and tell the other nodes about changes through `publish`
 * (every node) or `send` (one node).
 *
 * Redis pub/sub is at most once: a message published while a node's subscriber is
 * reconnecting is lost to it. So the bus only carries news; the truth is in Redis keys, and
 * every feature rebuilds its view from them on `resync` (emitted after the subscriber
 * reconnects).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { Redis } from 'ioredis';
import { NODE_ID_PATTERN } from './node-id.ts';
import { parseClusterUrl } from './url.ts';

export { NODE_ID_PATTERN };

/** A node refreshes its heartbeat this often. */
export const NODE_HEARTBEAT_MS = 1_000;
/**
 * A node whose heartbeat is older than this is dead: its users are removed and its work
 * taken over. So a SIGKILLed node's users are gone within NODE_TTL_MS + NODE_HEARTBEAT_MS.
 */
export const NODE_TTL_MS = 3_000;
/** Redis commands that wait longer than this fail (a down Redis must not hang a login). */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;
/** Reconnect back-off to Redis: 100 ms more per attempt, at most this. */
export const REDIS_RECONNECT_MAX_MS = 1_000;
/** Bytes in a bus message; larger ones are dropped (and are a bug). */
export const MAX_BUS_MESSAGE_BYTES = 256 * 1024;

/** What a node tells the others about itself (the `nodes` hash). */
export interface NodeInfo {
  id: string;
  /** Where clients (and other nodes, for the relay) reach this node: host:port, or '' before it listens. */
  advertise: string;
  startedAt: number;
  /** Logged-in sessions on the node, refreshed with the heartbeat. */
  sessions: number;
  /** When the node last refreshed its heartbeat, by its own clock (ms since the epoch; 0 before the first). */
  beatAt: number;
}

export interface ClusterLinkOptions {
  /** redis://[user:password@]host:port[/db] */
  url: string;
  /** Default: random, `n-` and 6 hex digits. */
  nodeId?: string;
  /** Key and channel prefix, so several clusters can share one Redis. Default `p2p:`. */
  prefix?: string;
  heartbeatMs?: number;
  nodeTtlMs?: number;
  /** False for a tool that uses the cluster's Redis and bus but is no node (`accounts import`): it never joins the node list. */
  member?: boolean;
}

export interface ClusterLinkEvents {
  /** A bus message from another node (never from this one). */
  message: [topic: string, data: unknown, from: string];
  /** A node joined (first seen alive). */
  node_up: [NodeInfo];
  /**
   * A node stopped or died. `reaper` is true on exactly one surviving node: the one that
   * removed it from the `nodes` hash, which does the shared clean-up in Redis.
   */
  node_down: [id: string, reaper: boolean];
  /** The subscriber reconnected: bus messages may have been lost; rebuild from Redis. */
  resync: [];
  /** Redis became unreachable, or reachable again. */
  available: [boolean];
  /** A Redis error worth logging (no secrets: URLs are never included). */
  error: [Error];
}

interface Envelope {
  from: string;
  topic: string;
  data: unknown;
}

export class ClusterLink extends EventEmitter<ClusterLinkEvents> {
  readonly nodeId: string;
  readonly prefix: string;
  /** Commands. Fails fast while Redis is down (no offline queue). */
  readonly redis: Redis;
  private readonly sub: Redis;
  private readonly heartbeatMs: number;
  private readonly nodeTtlMs: number;
  private readonly nodes = new Map<string, NodeInfo>();
  private info: NodeInfo;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private wasAvailable = true;
  private subscribedOnce = false;
  /** Sessions on this node, as the server reports it (sent with the heartbeat). */
  sessionCount: () => number = () => 0;

  private constructor(options: ClusterLinkOptions) {
    super();
    const nodeId = options.nodeId ?? `n-${randomBytes(3).toString('hex')}`;
    if (!NODE_ID_PATTERN.test(nodeId)) throw new Error(`bad node id "${nodeId}": 1-32 of A-Z a-z 0-9 _ . -`);
    this.nodeId = nodeId;
    this.prefix = options.prefix ?? 'p2p:';
    this.heartbeatMs = options.heartbeatMs ?? NODE_HEARTBEAT_MS;
    this.nodeTtlMs = options.nodeTtlMs ?? NODE_TTL_MS;
    this.info = { id: nodeId, advertise: '', startedAt: Date.now(), sessions: 0, beatAt: 0 };
    const connection = parseClusterUrl(options.url);
    const common = {
      ...connection,
      lazyConnect: true,
      connectionName: `p2p-${nodeId}`,
      retryStrategy: (times: number) => Math.min(times * 100, REDIS_RECONNECT_MAX_MS),
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    };
    this.redis = new Redis({ ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.sub = new Redis({ ...common, enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const conn of [this.redis, this.sub]) conn.on('error', (err: Error) => this.emit('error', err));
    this.redis.on('ready', () => this.setAvailable(true));
    this.redis.on('close', () => this.setAvailable(false));
    this.sub.on('ready', () => {
      if (this.subscribedOnce) this.emit('resync');
    });
    this.sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.onBusMessage(message));
  }

  /** Connect both connections, subscribe, and start the heartbeat. Rejects if Redis is not reachable. */
  static async connect(options: ClusterLinkOptions): Promise<ClusterLink> {
    const link = new ClusterLink(options);
    try {
      await Promise.all([link.redis.connect(), link.sub.connect()]);
      await link.sub.subscribe(link.channel('bus'), link.channel(`node:${link.nodeId}`));
      link.subscribedOnce = true;
      if (options.member === false) return link;
      await link.beat();
    } catch (err) {
      link.redis.disconnect();
      link.sub.disconnect();
      throw new Error(`cannot reach the cluster's Redis: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    link.timer = setInterval(() => void link.beat().catch((err: Error) => link.emit('error', err)), link.heartbeatMs);
    link.timer.unref();
    return link;
  }

  /** A key in this cluster's namespace: key('users') is `p2p:users`. */
  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /** Redis answers commands now. */
  get available(): boolean {
    return this.redis.status === 'ready';
  }

  /** Every live node, this one included. */
  liveNodes(): NodeInfo[] {
    return [{ ...this.info, sessions: this.sessionCount() }, ...this.nodes.values()];
  }

  node(id: string): NodeInfo | undefined {
    return id === this.nodeId ? this.info : this.nodes.get(id);
  }

  /** Set where this node is reached (after it listens). */
  async advertise(address: string): Promise<void> {
    this.info = { ...this.info, advertise: address };
    await this.beat();
  }

  /** Tell every other node. Resolves when Redis took it (not when they got it). */
  async publish(topic: string, data: unknown): Promise<void> {
    await this.redis.publish(this.channel('bus'), this.envelope(topic, data));
  }

  /** Tell one node. */
  async send(nodeId: string, topic: string, data: unknown): Promise<void> {
    await this.redis.publish(this.channel(`node:${nodeId}`), this.envelope(topic, data));
  }

  /** Stop the heartbeat, leave the node list, close both connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.available) {
      await this.redis
        .multi()
        .hdel(this.key('nodes'), this.nodeId)
        .del(this.key('node', this.nodeId, 'alive'))
        .exec()
        .catch(() => undefined);
    }
    this.redis.disconnect();
    this.sub.disconnect();
  }

  private channel(name: string): string {
    return this.key('chan', name);
  }

  private envelope(topic: string, data: unknown): string {
    const text = JSON.stringify({ from: this.nodeId, topic, data } satisfies Envelope);
    if (Buffer.byteLength(text) > MAX_BUS_MESSAGE_BYTES) throw new Error(`bus message "${topic}" too large`);
    return text;
  }

  private onBusMessage(message: Buffer): void {
    if (message.length > MAX_BUS_MESSAGE_BYTES) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message.toString('utf8')) as Envelope;
    } catch {
      return; // not ours: another program on the same Redis and channel
    }
    if (typeof envelope?.from !== 'string' || typeof envelope.topic !== 'string') return;
    if (envelope.from === this.nodeId) return;
    this.emit('message', envelope.topic, envelope.data, envelope.from);
  }

  private setAvailable(available: boolean): void {
    if (available === this.wasAvailable) return;
    this.wasAvailable = available;
    this.emit('available', available);
  }

  /** Refresh this node's heartbeat, then compare the node list with who is alive. */
  private async beat(): Promise<void> {
    if (this.closed || !this.available) return;
    const info: NodeInfo = { ...this.info, sessions: this.sessionCount(), beatAt: Date.now() };
    const nodesKey = this.key('nodes');
    await this.redis
      .multi()
      .hset(nodesKey, this.nodeId, JSON.stringify(info))
      .set(this.key('node', this.nodeId, 'alive'), String(info.beatAt), 'PX', this.nodeTtlMs)
      .exec();
    this.info = { ...this.info, beatAt: info.beatAt };
    const listed = await this.redis.hgetall(nodesKey);
    const ids = Object.keys(listed).filter((id) => id !== this.nodeId && NODE_ID_PATTERN.test(id));
    const alive = ids.length === 0 ? [] : await this.redis.mget(ids.map((id) => this.key('node', id, 'alive')));
    const seen = new Set<string>();
    for (const [i, id] of ids.entries()) {
      if (alive[i] === null) {
        // Only one node's HDEL removes it: that node cleans up after the dead one.
        const reaper = (await this.redis.hdel(nodesKey, id)) === 1;
        if (this.nodes.delete(id) || reaper) this.emit('node_down', id, reaper);
        continue;
      }
      const parsed = parseNodeInfo(listed[id], id);
      if (!parsed) continue;
      seen.add(id);
      const known = this.nodes.has(id);
      this.nodes.set(id, parsed);
      if (!known) this.emit('node_up', parsed);
    }
    // Left gracefully (removed itself from the hash) since the last beat.
    for (const id of [...this.nodes.keys()]) {
      if (!seen.has(id)) {
        this.nodes.delete(id);
        this.emit('node_down', id, false);
      }
    }
  }
}

function parseNodeInfo(text: string | undefined, id: string): NodeInfo | null {
  if (text === undefined) return null;
  try {
    const value = JSON.parse(text) as Partial<NodeInfo>;
    return {
      id,
      advertise: typeof value.advertise === 'string' ? value.advertise : '',
      startedAt: typeof value.startedAt === 'number' ? value.startedAt : 0,
      sessions: typeof value.sessions === 'number' ? value.sessions : 0,
      beatAt: typeof value.beatAt === 'number' ? value.beatAt : 0,
    };
  } catch {
    return null;
  }
}
