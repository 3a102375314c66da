/** Waiting for conditions in tests: poll with a deadline, never a fixed sleep. */
import { inspect, isDeepStrictEqual } from 'node:util';
import type { EventEmitter } from 'eventemitter3';

export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: { timeoutMs?: number; what?: string; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${options.what ?? 'condition'}${last ? ` (last error: ${last instanceof Error ? String(last) : inspect(last)})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 10));
  }
}

/** Resolve with the first event (matching `where`) an emitter fires, or fail after a deadline. */
export function nextEvent<A extends unknown[]>(
  emitter: Pick<EventEmitter<string>, 'on' | 'off'>,
  event: string,
  where: (...args: A) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out waiting for event "${event}"`));
    }, timeoutMs);
    const listener = (...args: A) => {
      if (!where(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

/**
 * Poll until `actual()` deep-equals `expected`. Waiting for a size or a count and comparing
 * afterwards is racy: an intermediate state (one entry gone, another not yet added) can have
 * the expected size and different contents. The failure names both values.
 */
export async function waitForEqual<T>(
  actual: () => T,
  expected: T,
  options: { timeoutMs?: number; what?: string; intervalMs?: number } = {},
): Promise<void> {
  let last: T | undefined;
  try {
    await waitFor(() => isDeepStrictEqual((last = actual()), expected), options);
  } catch (err) {
    throw new Error(
      `${(err as Error).message}: last ${inspect(last, { depth: 3 })}, expected ${inspect(expected, { depth: 3 })}`,
      { cause: err },
    );
  }
}
