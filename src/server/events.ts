/**
 * What the server core reports (for the dashboard and the JSON log). Never a password or a
 * key: names, addresses and codes only.
 */
import type { DropReason } from '../net/datagram.ts';
import type { PeerOutcome } from './peers/broker.ts';
import type { UdpPathState } from './session.ts';

export interface ServerEvents {
  connection: [{ conn: number; ip: string; connections: number }];
  disconnect: [{ conn: number; ip: string; user: string | null; reason: string; connections: number }];
  refused: [{ ip: string; reason: string }];
  register: [{ user: string; ip: string }];
  login: [{ user: string; ip: string; replaced: boolean }];
  login_failed: [{ user: string; ip: string; code: string }];
  logout: [{ user: string; ip: string; reason: string }];
  udp_path: [{ user: string; state: UdpPathState }];
  protocol_error: [{ conn: number; ip: string; code: string; message: string }];
  udp_drop: [{ reason: DropReason; address: string }];
  server_error: [{ where: string; message: string }];
  /** A peer request reached its target (section 6.1). Never the reqId or the secret. */
  peer_request: [{ from: string; fromIp: string; to: string; toIp: string }];
  /** A peer request ended. */
  peer_result: [{ from: string; fromIp: string; to: string; toIp: string; outcome: PeerOutcome }];
}
