/**
 * Typed events end to end. TypeScript cannot read an event map back out of eventemitter3's
 * generic `on`/`off`, so a generic `listen(source, event, fn)` would lose it and fall back to
 * strings and `any`. `Listenable<E>` and `Emitter<E>` carry the map in a type-only field
 * (never set at run time) that inference can read; `Subscriptions.listen` then checks the event
 * name against the map and types the listener's parameters from it. A renamed event fails to
 * compile at every place that still listens for the old name (test/util/emitter.test.ts).
 */
import { EventEmitter } from 'eventemitter3';

/** Anything with eventemitter3's typed on/off over the event map `E`. */
export interface Listenable<E extends object> {
  /** Type only: the event map, for inference. Never read or written at run time. */
  readonly eventTypes?: E;
  on<K extends EventEmitter.EventNames<E>>(event: K, fn: EventEmitter.EventListener<E, K>): unknown;
  off<K extends EventEmitter.EventNames<E>>(event: K, fn?: EventEmitter.EventListener<E, K>): unknown;
}

/** eventemitter3's EventEmitter with its event map readable by `listen` (see above). */
export class Emitter<E extends object> extends EventEmitter<E> implements Listenable<E> {
  declare readonly eventTypes?: E;
}

/** Subscriptions that are undone together: an owner that outlives its sources (or the reverse) drops them all at once. */
export class Subscriptions {
  private readonly cleanups: Array<() => void> = [];

  listen<E extends object, K extends EventEmitter.EventNames<E>>(
    source: Listenable<E>,
    event: K,
    fn: EventEmitter.EventListener<E, K>,
  ): void {
    source.on(event, fn);
    this.cleanups.push(() => source.off(event, fn));
  }

  /** Remove every listener added so far; the object can be used again. */
  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }
}
