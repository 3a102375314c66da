/**
 * The retransmission timeout of broadcast datagrams (PROTOCOL.md section 7.2), as TCP's
 * (RFC 6298): a smoothed round trip (SRTT) and its variation (RTTVAR) from acknowledged
 * sends, RTO = SRTT + max(G, 4 x RTTVAR) within [min, max]. Which acks give a sample, and
 * how the waits back off, is round-trips.ts' business. Pure: the caller passes the times.
 */
import { BROADCAST_RTO_INITIAL_MS, BROADCAST_RTO_MAX_MS, BROADCAST_RTO_MIN_MS } from '../../net/constants.ts';

export interface RtoLimits {
  /** Before any sample. */
  initialMs: number;
  minMs: number;
  maxMs: number;
  /** The timer's granularity G: how late a due retransmission can be noticed. */
  granularityMs: number;
}

export const DEFAULT_RTO_LIMITS: Omit<RtoLimits, 'granularityMs'> = {
  initialMs: BROADCAST_RTO_INITIAL_MS,
  minMs: BROADCAST_RTO_MIN_MS,
  maxMs: BROADCAST_RTO_MAX_MS,
};

// RFC 6298 section 2: alpha = 1/8, beta = 1/4, K = 4.
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

export class RttEstimator {
  /** Smoothed round trip in ms; null before the first sample. */
  srtt: number | null = null;
  rttvar = 0;
  samples = 0;
  private current: number;

  constructor(private readonly limits: RtoLimits) {
    this.current = limits.initialMs;
  }

  /** The timeout for a first send now. */
  get rto(): number {
    return this.current;
  }

  /** One round trip of a broadcast sent once: send to ack, as this server saw it. */
  sample(ms: number): void {
    const r = Math.max(0, ms);
    if (this.srtt === null) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = (1 - BETA) * this.rttvar + BETA * Math.abs(this.srtt - r);
      this.srtt = (1 - ALPHA) * this.srtt + ALPHA * r;
    }
    this.samples += 1;
    const { minMs, maxMs, granularityMs } = this.limits;
    this.current = Math.min(maxMs, Math.max(minMs, this.srtt + Math.max(granularityMs, K * this.rttvar)));
  }
}
