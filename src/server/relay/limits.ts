/** The relay's limits (PROTOCOL.md section 6.6, section 9); each has a server flag. */
import {
  RELAY_BUFFER_BYTES,
  RELAY_BYTES_PER_SECOND,
  RELAY_IDLE_TIMEOUT_MS,
  RELAY_MAX_CIRCUITS,
  RELAY_MAX_CIRCUITS_PER_USER,
  RELAY_PAIR_TIMEOUT_MS,
  RELAY_STALL_TIMEOUT_MS,
  RELAY_TICKET_TTL_MS,
  RELAY_TOKEN_TTL_MS,
} from '../../net/constants.ts';

export interface RelayLimits {
  /** Circuits (ticketed, waiting or spliced) on the server; 0 turns the relay off. */
  maxCircuits: number;
  maxCircuitsPerUser: number;
  /** Each direction of each circuit. */
  bytesPerSecond: number;
  idleTimeoutMs: number;
  /** Held per direction before the sender is paused. */
  bufferBytes: number;
  /** A side that drains nothing for this long is cut with E_SLOW_CONSUMER. */
  stallTimeoutMs: number;
  tokenTtlMs: number;
  ticketTtlMs: number;
  pairTimeoutMs: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxCircuits: RELAY_MAX_CIRCUITS,
  maxCircuitsPerUser: RELAY_MAX_CIRCUITS_PER_USER,
  bytesPerSecond: RELAY_BYTES_PER_SECOND,
  idleTimeoutMs: RELAY_IDLE_TIMEOUT_MS,
  bufferBytes: RELAY_BUFFER_BYTES,
  stallTimeoutMs: RELAY_STALL_TIMEOUT_MS,
  tokenTtlMs: RELAY_TOKEN_TTL_MS,
  ticketTtlMs: RELAY_TICKET_TTL_MS,
  pairTimeoutMs: RELAY_PAIR_TIMEOUT_MS,
};
