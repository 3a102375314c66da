/**
 * Cleanups that run when a test ends, however it ends, newest first.
 *
 * Built on node:test's `t.after()`. On Node 20 a test's `after` hooks run in the order they were
 * registered (checked with a probe), the reverse of the try/finally nesting they replace: a
 * server registered first would close before the clients made from it. `defer` keeps one stack
 * per test and unwinds it newest first, so a cleanup registered right after its resource undoes
 * things in the same order nested `finally` blocks did. Every cleanup runs even if one throws;
 * the first error is rethrown and fails the test.
 */
import type { TestContext } from 'node:test';

type Cleanup = () => unknown;

const stacks = new WeakMap<TestContext, Cleanup[]>();

export function defer(t: TestContext, cleanup: Cleanup): void {
  let stack = stacks.get(t);
  if (!stack) {
    const fresh: Cleanup[] = [];
    stacks.set(t, fresh);
    t.after(async () => {
      let failure: { error: unknown } | undefined;
      for (let fn = fresh.pop(); fn; fn = fresh.pop()) {
        try {
          await fn();
        } catch (error) {
          failure ??= { error };
        }
      }
      if (failure) throw failure.error;
    });
    stack = fresh;
  }
  stack.push(cleanup);
}
