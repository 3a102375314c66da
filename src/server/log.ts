/**
 * Headless mode: every server event as one JSON object a line on stdout
 * ({"time","level","event",...fields}), for systemd, containers and jq.
 */
import type { Writable } from 'node:stream';
import type { EventEmitter } from 'eventemitter3';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const EVENT_LEVELS: Record<string, LogLevel> = {
  udp_drop: 'debug',
  udp_path: 'debug',
  connection: 'debug',
  disconnect: 'debug',
  login_failed: 'warn',
  protocol_error: 'warn',
  refused: 'warn',
  server_error: 'error',
  broadcast_refused: 'debug',
};

export class JsonLog {
  private readonly threshold: number;
  constructor(private readonly out: Writable, level: LogLevel = 'info') {
    this.threshold = LOG_LEVELS.indexOf(level);
  }

  write(level: LogLevel, event: string, fields: object = {}): void {
    if (LOG_LEVELS.indexOf(level) < this.threshold) return;
    this.out.write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
  }

  /** Log every event an emitter reports, at the level EVENT_LEVELS gives it (info if none). */
  follow(emitter: EventEmitter<Record<string, unknown[]>>, events: readonly string[]): void {
    for (const event of events) {
      emitter.on(event, (fields: unknown) => this.write(EVENT_LEVELS[event] ?? 'info', event, (fields ?? {}) as object));
    }
  }
}
