/**
 * Server events as log records. Headless mode writes every event as one JSON object a line on
 * stdout ({"time","level","node","event",...fields}; "node" only in cluster mode), for systemd,
 * containers and jq; the dashboard's event-log pane takes the very same records
 * (followServerEvents), so the two never disagree about what happened or at which level.
 */
import type { Writable } from 'node:stream';
import type { EventEmitter } from 'eventemitter3';
import type { ServerEvents } from './events.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The level of every server event. A full record on purpose: an event added to ServerEvents
 * without a level here fails the type-check, instead of silently missing from the log.
 */
export const SERVER_EVENT_LEVELS: { readonly [E in keyof ServerEvents]: LogLevel } = {
  connection: 'debug',
  disconnect: 'debug',
  refused: 'warn',
  /** Scanners and floods make many of these: not worth an operator's attention one by one. */
  handshake_failed: 'debug',
  register: 'info',
  login: 'info',
  login_failed: 'warn',
  logout: 'info',
  account: 'info',
  udp_path: 'debug',
  protocol_error: 'warn',
  udp_drop: 'debug',
  server_error: 'error',
  peer_request: 'info',
  peer_result: 'info',
  relay_ticket: 'debug',
  /** Bad tickets and no-shows: worth seeing, they may be probing. */
  relay_refused: 'warn',
  relay_open: 'info',
  relay_closed: 'info',
  broadcast_created: 'info',
  /** Over the rate or the queue's cap: the sender is told; an operator rarely needs it. */
  broadcast_refused: 'debug',
  broadcast_fanout: 'info',
  broadcast_delivered: 'info',
  broadcast_expired: 'info',
};

export type ServerEventName = keyof typeof SERVER_EVENT_LEVELS;
export const SERVER_EVENT_NAMES = Object.keys(SERVER_EVENT_LEVELS) as ServerEventName[];

/** Where log records go: the JSON log and the dashboard's event pane both implement it. */
export type LogSink = (level: LogLevel, event: string, fields: object) => void;

/** True when `level` is at or above `threshold`. */
export function levelEnabled(level: LogLevel, threshold: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}

/**
 * Send every server event to `sink` at its level, skipping those below `threshold` before
 * anything is formatted (a login storm at debug level costs nothing at info). Returns a
 * function that unsubscribes.
 */
export function followServerEvents(
  core: EventEmitter<ServerEvents>,
  sink: LogSink,
  threshold: LogLevel = 'debug',
): () => void {
  const emitter = core as unknown as EventEmitter<Record<string, [object]>>;
  const listeners: Array<[string, (fields: object) => void]> = [];
  for (const event of SERVER_EVENT_NAMES) {
    const level = SERVER_EVENT_LEVELS[event];
    if (!levelEnabled(level, threshold)) continue;
    const listener = (fields: object) => sink(level, event, fields ?? {});
    emitter.on(event, listener);
    listeners.push([event, listener]);
  }
  return () => {
    for (const [event, listener] of listeners) emitter.off(event, listener);
  };
}

export class JsonLog {
  /**
   * `node` (cluster mode, docs/CLUSTER.md): this node's id, carried by every line, so the logs
   * of several nodes can be merged and still say where each event happened.
   */
  constructor(
    private readonly out: Writable,
    readonly threshold: LogLevel = 'info',
    private readonly node: string | null = null,
  ) {}

  /** Bound, so it can be passed as a LogSink. */
  readonly write: LogSink = (level, event, fields = {}) => {
    if (!levelEnabled(level, this.threshold)) return;
    const node = this.node === null ? {} : { node: this.node };
    // `node` after the fields too: an event's own field of that name must not hide where it was logged.
    const record = { time: new Date().toISOString(), level, ...node, event, ...fields, ...node };
    this.out.write(`${JSON.stringify(record)}\n`);
  };

  /** Log every server event at its level. */
  follow(core: EventEmitter<ServerEvents>): () => void {
    return followServerEvents(core, this.write, this.threshold);
  }
}
