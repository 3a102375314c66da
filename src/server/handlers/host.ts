/**
 * What message handlers may use of the server: the services they translate messages into,
 * and the one session transition they cause (going online). The composition root in
 * server.ts builds it; handlers never see the core itself.
 */
import type { ErrorCode } from '../../net/errors.ts';
import type { Broadcasts } from '../broadcasts/service.ts';
import type { Emit } from '../events.ts';
import type { PeerIntroductions } from '../peers/broker.ts';
import type { RelayService } from '../relay/service.ts';
import type { Clock } from '../rate-limit.ts';
import type { PresenceDirectory } from '../presence.ts';
import type { ClientSession, OnlineSession } from '../session.ts';
import type { Accounts } from '../users/accounts.ts';

export interface HandlerHost {
  now: Clock;
  accounts: Accounts;
  /** Make an authenticated session the user's online session and welcome it (section 4.3). */
  goOnline(session: ClientSession, user: string, peerPort: number | undefined, re: number, registered: boolean): void;
  /** Close every other connection logged in (or logging in) as `session`'s user; how many. */
  closeOtherSessions(session: OnlineSession, code: ErrorCode, why: string): number;
  emit: Emit;
  /** The session's connection now carries a relay circuit half (section 6.6). */
  relayed(session: ClientSession): void;
  presence: Pick<PresenceDirectory, 'list' | 'setAway'>;
  broadcasts: Pick<Broadcasts<OnlineSession>, 'create' | 'ack' | 'forgetUser'>;
  peers: PeerIntroductions;
  relay: Pick<RelayService, 'redeem' | 'claim'>;
}
