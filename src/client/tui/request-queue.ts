/**
 * Incoming chat requests waiting for an answer, oldest first: the notice shows the first.
 * A one-second tick redraws the countdown and drops requests whose time is up (the server
 * counts them as declined at that moment, PROTOCOL.md 6.1), so the notice never lingers at 0 s.
 * The clock is injected so tests need no waiting.
 */
import { EventEmitter } from 'eventemitter3';
import { sameUser } from '../../net/names.ts';
import type { IncomingRequest } from './sources.ts';

export const COUNTDOWN_TICK_MS = 1_000;

export class RequestQueue extends EventEmitter<{ changed: [] }> {
  private items: IncomingRequest[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly now: () => number) {
    super();
  }

  get first(): IncomingRequest | undefined {
    return this.items[0];
  }

  get size(): number {
    return this.items.length;
  }

  /** The oldest request from `user`. */
  from(user: string): IncomingRequest | undefined {
    return this.items.find((r) => sameUser(r.from.user, user));
  }

  add(request: IncomingRequest): void {
    if (this.items.some((r) => r.id === request.id)) return;
    this.items.push(request);
    this.timer ??= setInterval(() => this.tick(), COUNTDOWN_TICK_MS);
    this.emit('changed');
  }

  remove(id: string): void {
    const before = this.items.length;
    this.items = this.items.filter((r) => r.id !== id);
    if (this.items.length === 0) this.stop();
    if (this.items.length !== before) this.emit('changed');
  }

  /** Redraw the countdown; drop what expired. */
  tick(): void {
    const now = this.now();
    this.items = this.items.filter((r) => r.expiresAt > now);
    if (this.items.length === 0) this.stop();
    this.emit('changed');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
