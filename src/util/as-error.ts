/** A caught value as an Error, for reject() and error events: an Error passes through as it is. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
