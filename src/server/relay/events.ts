/**
 * What the relay reports (PROTOCOL.md section 6.6): names, sizes and durations, never a
 * token, a ticket or a relayed byte. Part of the server's typed event stream (events.ts).
 */
export type RelaySide = 'requester' | 'target';

export interface RelayEvents {
  /** A user traded a token for a ticket, or was refused (`code`). */
  relay_ticket: [{ user: string; peer: string; side: RelaySide; code: string | null }];
  /** A relay connection was refused (bad ticket, the other side never came...). */
  relay_refused: [{ ip: string; user: string | null; code: string; reason: string }];
  /** Both halves joined: bytes now flow. `circuits`: spliced circuits now. */
  relay_open: [{ from: string; to: string; fromIp: string; toIp: string; circuits: number }];
  /**
   * A circuit ended. `up`: bytes requester -> target, `down`: the other way. `code` is null
   * for an ordinary end (a side closed), else why the server cut it.
   */
  relay_closed: [
    {
      from: string;
      to: string;
      up: number;
      down: number;
      durationMs: number;
      code: string | null;
      reason: string;
      circuits: number;
    },
  ];
}
