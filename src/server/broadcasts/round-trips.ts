/**
 * Delivery's timers and the acks that feed them (PROTOCOL.md section 7.2): the RTO of a first
 * send (per recipient, and everyone's before a recipient has its own) and the wait after a
 * resend.
 *
 * A token ack says which copy arrived (ack-tokens.ts), so every such ack times a round trip
 * (as TCP's timestamps lift Karn's rule, RFC 7323). Round trips of first sends and of resends
 * are kept apart: a fan-out's first sends to thousands come back at the pace the server and
 * its clients get through them, a resend goes to a few and comes back at the network's.
 */
import type { DeliveryPeer } from './ports.ts';
import type { InFlight, Recipient } from './recipient.ts';
import { RttEstimator, type RtoLimits } from './rto.ts';

export class RoundTrips {
  /** First sends to every recipient: the RTO of one that has no sample of its own yet. */
  private readonly firstSends: RttEstimator;
  /** Resent copies, to every recipient: the wait after a first resend. */
  private readonly resends: RttEstimator;

  constructor(private readonly limits: RtoLimits) {
    this.firstSends = new RttEstimator(limits);
    this.resends = new RttEstimator(limits);
  }

  /** The wait after a first send to `r` (everyone's RTO without `r`). */
  rtoFor<S extends DeliveryPeer>(r: Recipient<S> | undefined): number {
    if (!r) return this.firstSends.rto;
    return r.backedOffRto ?? (r.rtt ?? this.firstSends).rto;
  }

  /**
   * An ack of `flight`, read at `now`: a round trip when the ack says which copy it answers.
   * A token ack names its copy; a sealed ack of a broadcast sent once can only answer that
   * send (Karn's algorithm for the rest). A resend's round trip is timed from the latest copy.
   */
  sample<S extends DeliveryPeer>(r: Recipient<S>, flight: InFlight, now: number): void {
    const copy = flight.ackedCopy || (flight.tries === 1 ? 1 : 0);
    if (copy === 1) {
      const ms = now - flight.firstAt;
      r.rtt ??= new RttEstimator(this.limits);
      r.rtt.sample(ms);
      r.backedOffRto = null;
      this.firstSends.sample(ms);
    } else if (copy > 1 && copy === flight.tries) this.resends.sample(now - flight.lastAt);
  }

  /**
   * A copy was resent at `now`: the first resend waits the RTO measured on resends (before
   * any was timed, twice the first send's RTO: RFC 6298's back-off), each later copy twice the
   * wait before. The recipient's next first send waits its RTO doubled once per timeout, until
   * a round trip is measured (RFC 6298 5.5-5.7).
   */
  resent<S extends DeliveryPeer>(r: Recipient<S>, flight: InFlight, now: number): void {
    flight.tries += 1;
    flight.lastAt = now;
    const resendRto = this.resends.samples > 0 ? this.resends.rto : 2 * flight.rto;
    flight.wait = flight.tries === 2 ? resendRto : flight.wait * 2;
    const backedOff = flight.rto * 2 ** (flight.tries - 1);
    r.backedOffRto = Math.min(this.limits.maxMs, Math.max(r.backedOffRto ?? 0, backedOff));
  }
}
