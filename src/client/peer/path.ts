/** The rungs of the connection ladder (PROTOCOL.md section 6.6) and how users see them. */

/** Which rung carries a link. */
export const PeerPath = { DIRECT: 'direct', REVERSE: 'reverse', RELAY: 'relay' } as const;
export type PeerPath = (typeof PeerPath)[keyof typeof PeerPath];
/** How each path is named to users, in the tab title and /info. */
export const PEER_PATH_LABELS: { readonly [P in PeerPath]: string } = {
  direct: 'direct',
  reverse: 'direct (reverse)',
  relay: 'relayed via the server',
};
/** The same, short enough for a tab title. */
export const PEER_PATH_SHORT: { readonly [P in PeerPath]: string } = {
  direct: 'direct',
  reverse: 'reverse',
  relay: 'relayed',
};
