/**
 * Usernames are unique ignoring case (PROTOCOL.md section 4): "Alice" and "alice" are one
 * account, shown as typed at registration. Everything that compares, indexes or rate-limits by
 * user, on the server and in the client, folds a name with `userKey` here and nowhere else.
 * Names match USERNAME_PATTERN (ASCII only), so lower-casing is the whole rule: no Unicode
 * case folding or normalisation is involved.
 */

/** The case-folded key of a username: for maps, sets and comparisons. */
export function userKey(username: string): string {
  return username.toLowerCase();
}

/** The same account, ignoring case. */
export function sameUser(a: string, b: string): boolean {
  return userKey(a) === userKey(b);
}
