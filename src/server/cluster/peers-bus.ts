/**
 * The node-to-node messages of peer requests across nodes (docs/CLUSTER.md "Peer requests
 * and the relay"), each with its validator: every one is checked on arrival, as anything
 * from the network is.
 */
import { PEER_REQUEST_TIMEOUT_MS } from '../../net/constants.ts';
import { ErrorCode } from '../../net/errors.ts';
import { userEntry, username } from '../../net/messages.ts';
import { bool, int, obj, oneOf, opt, str } from '../../net/schema.ts';
import { PeerOutcome } from '../peers/outcome.ts';

const reqId = str({ min: 1, maxBytes: 64, pattern: /^[0-9a-f]+$/ });
export const refusable = [
  ErrorCode.PEER_OFFLINE,
  ErrorCode.PEER_NO_LISTENER,
  ErrorCode.PEER_BUSY,
  ErrorCode.PEER_ALREADY_REQUESTED,
] as const;
export const bus = {
  'peers.prompt': obj({ reqId, user: username, from: userEntry, expiresInMs: int(0, PEER_REQUEST_TIMEOUT_MS * 10) }),
  'peers.prompted': obj({ reqId }),
  'peers.refused': obj({ reqId, code: oneOf(...refusable), message: str({ maxBytes: 200 }) }),
  'peers.answer': obj({ reqId, accept: bool }),
  'peers.cancel': obj({ reqId }),
  'peers.gone': obj({ reqId }),
  'peers.result': obj({
    reqId,
    outcome: oneOf(...Object.values(PeerOutcome)),
    reason: str({ maxBytes: 200 }),
    secret: opt(str({ min: 1, maxBytes: 64, pattern: /^[A-Za-z0-9_-]+$/ })),
    port: opt(int(1, 65_535)),
    /** Accepted, with the relay on: where and how the target's node joins the circuit. */
    relay: opt(
      obj({
        address: str({ min: 3, maxBytes: 300 }),
        ticket: str({ min: 1, maxBytes: 64, pattern: /^[A-Za-z0-9_-]+$/ }),
      }),
    ),
  }),
  'peers.delivered': obj({ reqId }),
};
export type Topic = keyof typeof bus;
