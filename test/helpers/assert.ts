/** Indexing that fails the test, with a message, when the element is not there. */
import { AssertionError } from 'node:assert';

/** `items[index]` (negative counts from the end), or a failed assertion naming what is missing. */
export function nth<T>(items: ArrayLike<T>, index: number, what = 'element'): T {
  const item = items[index < 0 ? items.length + index : index];
  if (item === undefined)
    throw new AssertionError({ message: `no ${what} at index ${index} (length ${items.length})` });
  return item;
}
