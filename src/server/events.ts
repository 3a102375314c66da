/**
 * What the server core reports (for the dashboard and the JSON log). Never a password or a
 * key: names, addresses and codes only.
 */
import type { DropReason } from '../net/datagram.ts';
import type { PeerOutcome } from './peers/outcome.ts';
import type { RelayEvents } from './relay/events.ts';
import type { UdpPathState } from './session.ts';

/** The relay's events (relay_ticket, relay_refused, relay_open, relay_closed) are part of it. */
export interface ServerEvents extends RelayEvents {
  connection: [{ conn: number; ip: string; connections: number }];
  disconnect: [{ conn: number; ip: string; user: string | null; reason: string; connections: number }];
  refused: [{ ip: string; reason: string }];
  /**
   * A TCP connection that did not become a TLS session: its handshake failed or timed out, or
   * it was dropped at once because too many handshakes were pending (port scanners, floods).
   */
  handshake_failed: [{ ip: string; reason: string }];
  register: [{ user: string; ip: string }];
  login: [{ user: string; ip: string; replaced: boolean }];
  login_failed: [{ user: string; ip: string; code: string }];
  logout: [{ user: string; ip: string; reason: string }];
  /**
   * An account changed (PROTOCOL.md section 4.6): a new password, a deletion, or a hash re-made
   * at the server's current scrypt cost. `closed`: other sessions of the user that were closed.
   */
  account: [{ user: string; ip: string; change: 'password' | 'deleted' | 'rehashed'; closed: number }];
  udp_path: [{ user: string; state: UdpPathState }];
  protocol_error: [{ conn: number; ip: string; code: string; message: string }];
  udp_drop: [{ reason: DropReason; address: string }];
  server_error: [{ where: string; message: string }];
  // Broadcasts (PROTOCOL.md section 7). The text itself is never logged, only a short preview.
  /** `durableMs`: how long making it durable took (the disk's fsync, mostly). */
  broadcast_created: [
    {
      bid: string;
      from: string;
      preview: string;
      bytes: number;
      createdAt: number;
      expiresAt: number;
      pending: number;
      durableMs: number;
    },
  ];
  broadcast_refused: [{ user: string; code: string }];
  /**
   * The first send to every online user is done (retransmissions may follow): `ms` from the
   * start to the last send, `cpuMs` the CPU time the sends took (robust on a busy machine),
   * `rtoMs` the mean retransmission timeout of its UDP sends (section 7.2; 0 when none),
   * `acksDuring` the acks (of any broadcast) handled between its first send and its last.
   */
  broadcast_fanout: [
    {
      bid: string;
      recipients: number;
      udp: number;
      tcp: number;
      ms: number;
      cpuMs: number;
      rtoMs: number;
      acksDuring: number;
    },
  ];
  /**
   * Every user registered now has acknowledged it (it stays live for users who register later).
   * `datagrams`/`frames`: its sends so far over UDP (retransmissions included) and TCP, to all.
   */
  broadcast_delivered: [{ bid: string; acked: number; registered: number; datagrams: number; frames: number }];
  broadcast_expired: [
    { bid: string; from: string; acked: number; registered: number; datagrams: number; frames: number },
  ];
  /** A peer request reached its target (section 6.1). Never the reqId or the secret. */
  peer_request: [{ from: string; fromIp: string; to: string; toIp: string }];
  /** A peer request ended. */
  peer_result: [{ from: string; fromIp: string; to: string; toIp: string; outcome: PeerOutcome }];
}

/**
 * How a feature reports an event without holding the server: the composition root passes
 * the core's `emit`. Features take this, never the core.
 */
export type Emit = <K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]) => void;
