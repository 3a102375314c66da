/** Ack tokens (PROTOCOL.md section 5.4) as text and as the server's two 32-bit halves. */

/** The `k` text of a token given as two 32-bit halves. */
export function tokenText(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** A `k` text as the two 32-bit halves the server compares. */
export function tokenHalves(k: string): { hi: number; lo: number } {
  return { hi: parseInt(k.slice(0, 8), 16), lo: parseInt(k.slice(8), 16) };
}
