/** How a peer request ended (PROTOCOL.md section 6.1 step 5); shared by the broker and its events. */
export const PeerOutcome = {
  ACCEPTED: 'accepted',
  DECLINED: 'declined',
  TIMEOUT: 'timeout',
  OFFLINE: 'offline',
  CANCELLED: 'cancelled',
} as const;
export type PeerOutcome = (typeof PeerOutcome)[keyof typeof PeerOutcome];
