/**
 * The server's Prometheus metrics (README "Monitoring"): counters fed by the core's typed
 * events, gauges read from the core when scraped, and prom-client's default process metrics
 * (event-loop delay, memory, CPU, file descriptors). Each instance has its own registry, so
 * several servers in one process (tests, benches) never share or clash on a metric.
 */
import type { EventEmitter } from 'eventemitter3';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ServerEvents } from '../events.ts';

/** Every name starts with this, so a scrape config can tell ours from the process's. */
export const METRIC_PREFIX = 'p2p_';

/**
 * Seconds from a broadcast's creation to each user's ack: a fan-out to online users takes
 * milliseconds, a user who logs in later acks minutes after (up to the 30-minute TTL).
 */
export const DELIVERY_LATENCY_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800,
] as const;

/** What the metrics read from the server: its events, and a few numbers read at scrape time. */
export interface MetricsHost {
  events: Pick<EventEmitter<ServerEvents>, 'on' | 'off'>;
  connections(): number;
  sessionsOnline(): number;
  /** Online sessions whose UDP path is alive. */
  udpAlive(): number;
  broadcastsPending(): number;
  /** Running totals kept by broadcast delivery. */
  delivery(): { retransmits: number; tcpFallbacks: number; tcpSent: number; udpSent: number; acks: number };
  /** Every first ack of a broadcast by a user, with its latency; returns the unsubscribe. */
  onAck(listener: (latencyMs: number) => void): () => void;
  hashQueue(): { inFlight: number; queued: number };
  relayCircuits(): number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly unfollow: Array<() => void> = [];

  constructor(private readonly host: MetricsHost) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name: METRIC_PREFIX + name, help, labelNames, registers });
    const gauge = (name: string, help: string, collect: () => number) =>
      new Gauge({
        name: METRIC_PREFIX + name,
        help,
        registers,
        collect() {
          this.set(collect());
        },
      });
    /** A running total kept elsewhere, read when scraped (it only grows, so it is a counter). */
    const total = (name: string, help: string, read: () => number) =>
      new Counter({
        name: METRIC_PREFIX + name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });

    const connections = counter('connections_total', 'TLS connections accepted by the server core');
    const refused = counter('connections_refused_total', 'connections refused (server full or stopping)');
    const logins = counter('logins_total', 'successful logins (a registration logs in too)');
    const loginsFailed = counter('logins_failed_total', 'failed logins, by error code', ['code']);
    const registrations = counter('registrations_total', 'accounts registered');
    const peerRequests = counter('peer_requests_total', 'peer requests that reached their target');
    const peerResults = counter('peer_results_total', 'peer requests ended, by outcome', ['outcome']);
    const relayOpened = counter('relay_circuits_opened_total', 'relay circuits spliced');
    const queued = counter('broadcasts_queued_total', 'broadcasts accepted and made durable');
    const refusedBroadcasts = counter('broadcasts_refused_total', 'broadcast requests refused, by code', ['code']);
    const delivered = counter('broadcasts_delivered_total', 'broadcasts acknowledged by every registered user');
    const expired = counter('broadcasts_expired_total', 'broadcasts that expired before every user acknowledged');
    const protocolErrors = counter('protocol_errors_total', 'invalid messages from clients, by code', ['code']);
    const latency = new Histogram({
      name: `${METRIC_PREFIX}broadcast_delivery_latency_seconds`,
      help: "seconds from a broadcast's creation to each user's acknowledgement",
      buckets: [...DELIVERY_LATENCY_BUCKETS_S],
      registers,
    });

    gauge('connections', 'connections open now, logged in or not', () => host.connections());
    gauge('sessions_online', 'users logged in now', () => host.sessionsOnline());
    gauge('sessions_udp_alive', 'online users whose UDP path is alive', () => host.udpAlive());
    gauge('broadcasts_pending', 'broadcasts in the queue now', () => host.broadcastsPending());
    gauge('relay_circuits', 'relay circuits spliced now', () => host.relayCircuits());
    gauge('password_hash_in_flight', 'password hashes running now', () => host.hashQueue().inFlight);
    gauge('password_hash_queued', 'password hashes waiting for a slot', () => host.hashQueue().queued);
    total('broadcast_retransmits_total', 'broadcast datagrams sent again', () => host.delivery().retransmits);
    total(
      'broadcast_tcp_fallbacks_total',
      'broadcasts sent over TCP after going unacknowledged over UDP',
      () => host.delivery().tcpFallbacks,
    );
    total('broadcast_tcp_sends_total', 'broadcasts sent over TCP, for any reason', () => host.delivery().tcpSent);
    total('broadcast_udp_sends_total', 'first sends of broadcasts over UDP', () => host.delivery().udpSent);
    total('broadcast_acks_total', 'broadcast acknowledgements recorded', () => host.delivery().acks);

    this.follow('connection', () => connections.inc());
    this.follow('refused', () => refused.inc());
    this.follow('login', () => logins.inc());
    this.follow('login_failed', ({ code }) => loginsFailed.inc({ code }));
    this.follow('register', () => registrations.inc());
    this.follow('peer_request', () => peerRequests.inc());
    this.follow('peer_result', ({ outcome }) => peerResults.inc({ outcome }));
    this.follow('relay_open', () => relayOpened.inc());
    this.follow('broadcast_created', () => queued.inc());
    this.follow('broadcast_refused', ({ code }) => refusedBroadcasts.inc({ code }));
    this.follow('broadcast_delivered', () => delivered.inc());
    this.follow('broadcast_expired', () => expired.inc());
    this.follow('protocol_error', ({ code }) => protocolErrors.inc({ code }));
    this.unfollow.push(host.onAck((ms) => latency.observe(ms / 1000)));
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  dispose(): void {
    for (const off of this.unfollow.splice(0)) off();
    this.registry.clear();
  }

  private follow<K extends keyof ServerEvents>(event: K, listener: (...args: ServerEvents[K]) => void): void {
    // eventemitter3's typed on/off take the listener through their own argument maps.
    const events = this.host.events as unknown as EventEmitter<Record<string, unknown[]>>;
    const fn = listener as (...args: unknown[]) => void;
    events.on(event, fn);
    this.unfollow.push(() => void events.off(event, fn));
  }
}
